// `npm run bench:jobs [-- --jobs 2000 --workers 2 --concurrency 16 --submitters 16 --users 100]`
//
// Pushes generation jobs through the whole pipeline — Reserve (billing) → JetStream → worker
// (local provider, zeroWork) → Commit (billing) → jobs.generation.completed — with billing and the
// workers as real processes built from dist/, and prints throughput, end-to-end latency (from the
// Reserve call to the completed event arriving here) and peak RSS. Three rows, one run:
//   baseline   the same JetStream path (publish → durable pull consumer → publish completed → ack)
//              with no billing, no provider and no object store, handled in this process: the floor
//              the messaging itself costs;
//   1 worker   the full pipeline with one worker process;
//   N workers  the full pipeline with N worker processes.
// Then checks that every hold is POSTED, every job has exactly one completed event and one result
// object, nothing is left queued or dead-lettered, the ledger verifies, and the outbox drained.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { create, fromBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createBillingClient } from "@billing/client";
import {
  ack,
  COMPACT_BUCKET_OPTIONS,
  COMPACT_STREAM_OPTIONS,
  connectNats,
  deleteNamespace,
  ensureBuckets,
  ensureConsumer,
  ensureStreams,
  jetstream,
  jetstreamManager,
  type NatsConnection,
  natsNames,
  type NatsNames,
  publishGenerationCompleted,
  publishGenerationRequested,
  startConsumer,
  workerConsumer,
} from "@billing/events";
import { createLogger } from "@billing/observability";
import { GenerationCompletedSchema, GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { freePort, NATS_URL, testDatabase, testToken, uniqueName, withPg } from "@billing/testkit";
import { ROOT } from "../local-env.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "2000" },
    workers: { type: "string", default: "2" },
    concurrency: { type: "string", default: "16" },
    submitters: { type: "string", default: "16" },
    users: { type: "string", default: "100" },
    warmup: { type: "string", default: "100" },
  },
});
const JOBS = Number(values.jobs);
const WORKERS = Number(values.workers);
const CONCURRENCY = Number(values.concurrency);
const SUBMITTERS = Number(values.submitters);
const USERS = Number(values.users);
const WARMUP = Number(values.warmup);
const log = createLogger({ app: "bench", level: "warn" });

interface Row {
  pipeline: string;
  workers: string;
  jobs: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Publish → completed: the queue, the worker and its billing calls, without the Reserve. */
  queueP50: number;
  queueP99: number;
  workerRss: string;
  billingRss: string;
  /** Mean time a worker spent on one job (its own metric), the rest being queueing. */
  handlerMs: string;
}

function memoryOf(pid: number | undefined): { hwmMiB: number; rssMiB: number } {
  if (pid === undefined) return { hwmMiB: 0, rssMiB: 0 };
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { hwmMiB: kb("VmHWM") / 1024, rssMiB: kb("VmRSS") / 1024 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function spawnDist(app: "billing" | "worker", env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [`apps/${app}/dist/main.js`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal !== "SIGTERM" && code !== null) console.error(`${app} exited with ${code}`);
  });
  return child;
}

async function waitReady(url: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Collects completed events of one namespace; latency is measured from `started` to arrival. */
function collectCompletions(nc: NatsConnection, names: NatsNames) {
  const started = new Map<string, number>();
  const published = new Map<string, number>();
  const latencies = new Map<string, number>();
  const queueLatencies = new Map<string, number>();
  let duplicates = 0;
  let failed = 0;
  let last = 0;
  let waiter: { count: number; resolve: () => void } | undefined;
  const prefixCount = new Map<string, number>();
  nc.subscribe(names.subjects.generationCompleted, {
    callback: (_error, msg) => {
      const now = performance.now();
      const jobId = fromBinary(GenerationCompletedSchema, msg.data).jobId;
      if (latencies.has(jobId)) {
        duplicates++;
        return;
      }
      latencies.set(jobId, now - (started.get(jobId) ?? now));
      queueLatencies.set(jobId, now - (published.get(jobId) ?? now));
      last = now;
      const prefix = jobId.slice(0, jobId.indexOf("-"));
      prefixCount.set(prefix, (prefixCount.get(prefix) ?? 0) + 1);
      if (waiter !== undefined && (prefixCount.get("m") ?? 0) >= waiter.count) waiter.resolve();
    },
  });
  nc.subscribe(names.subjects.generationFailed, { callback: () => void failed++ });
  return {
    started,
    published,
    latencies,
    queueLatencies,
    get duplicates() {
      return duplicates;
    },
    get failed() {
      return failed;
    },
    get last() {
      return last;
    },
    /** Resolves once `count` measured ("m-" prefixed) jobs completed. */
    measured(count: number, timeoutMs: number): Promise<void> {
      if ((prefixCount.get("m") ?? 0) >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${prefixCount.get("m") ?? 0}/${count} completed`)),
          timeoutMs,
        );
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    reset() {
      started.clear();
      published.clear();
      latencies.clear();
      queueLatencies.clear();
      prefixCount.clear();
    },
  };
}

/** Runs `count` submissions with at most SUBMITTERS at once; returns when all were submitted. */
async function submitAll(count: number, submit: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SUBMITTERS, count) }, async () => {
      for (let index = next++; index < count; index = next++) await submit(index);
    }),
  );
}

async function measure(
  pipeline: string,
  workers: string,
  collector: ReturnType<typeof collectCompletions>,
  phase: string,
  submit: (jobId: string, index: number) => Promise<void>,
  memory: () => Promise<{ workerRss: string; billingRss: string; handlerMs: string }>,
): Promise<Row> {
  // Warm-up (not measured): JIT, connection pools, consumer state.
  collector.reset();
  await submitAll(WARMUP, (i) => submit(`w-${phase}-${i}`, i));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  collector.reset();
  const t0 = performance.now();
  const done = collector.measured(JOBS, 300_000);
  await submitAll(JOBS, async (i) => {
    const jobId = `m-${phase}-${i}`;
    collector.started.set(jobId, performance.now());
    await submit(jobId, i);
  });
  await done;
  const seconds = (collector.last - t0) / 1000;
  const measured = (latencies: Map<string, number>) =>
    [...latencies.entries()]
      .filter(([id]) => id.startsWith("m-"))
      .map(([, ms]) => ms)
      .sort((a, b) => a - b);
  const sorted = measured(collector.latencies);
  const queue = measured(collector.queueLatencies);
  return {
    pipeline,
    workers,
    jobs: JOBS,
    seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    queueP50: percentile(queue, 50),
    queueP99: percentile(queue, 99),
    ...(await memory()),
  };
}

// ---------------------------------------------------------------------------------------------

const nc = await connectNats({ servers: NATS_URL, name: "bench-jobs" });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const rows: Row[] = [];
const problems: string[] = [];
const baseNames = natsNames(uniqueName("bench_base"));
const names = natsNames(uniqueName("bench_jobs"));
const database = testDatabase("bench_jobs");
const workerProcesses: ChildProcess[] = [];
const workerOpsPorts: number[] = [];
// Assigned once below, after cleanup (which must see it) is in place.
// eslint-disable-next-line prefer-const
let billingProcess: ChildProcess | undefined;

let cleaning: Promise<void> | undefined;
/** Everything this run created goes, also on Ctrl-C. */
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const child of workerProcesses) await stop(child);
    if (billingProcess !== undefined) await stop(billingProcess);
    await deleteNamespace(nc, names);
    await deleteNamespace(nc, baseNames);
    await nc.close();
    await database.drop();
  })());
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// 1. Baseline: JetStream only, in this process.
await ensureStreams(jsm, baseNames, COMPACT_STREAM_OPTIONS);
const baseDefinition = workerConsumer(baseNames);
await ensureConsumer(jsm, baseDefinition);
const baseConsumer = await startConsumer({
  nc,
  names: baseNames,
  stream: baseDefinition.stream,
  consumer: baseNames.durables.worker,
  schema: GenerationRequestedSchema,
  concurrency: CONCURRENCY,
  log,
  app: "bench",
  handler: async ({ message }) => {
    await publishGenerationCompleted(
      js,
      baseNames,
      create(GenerationCompletedSchema, { jobId: message.jobId }),
    );
    return ack;
  },
});
const baseCollector = collectCompletions(nc, baseNames);
rows.push(
  await measure(
    "baseline: JetStream only",
    `in-process ×${CONCURRENCY}`,
    baseCollector,
    "base",
    async (jobId) => {
      baseCollector.published.set(jobId, performance.now());
      await publishGenerationRequested(
        js,
        baseNames,
        create(GenerationRequestedSchema, { jobId, holdId: "none" }),
      );
    },
    () =>
      Promise.resolve({
        workerRss: `bench ${memoryOf(process.pid).hwmMiB.toFixed(0)}`,
        billingRss: "—",
        handlerMs: "—",
      }),
  ),
);
await baseConsumer.stop();
if (baseCollector.duplicates > 0)
  problems.push(`baseline: ${baseCollector.duplicates} duplicate completions`);

// 2. The full pipeline: billing and workers as processes from dist/.
await ensureStreams(jsm, names, COMPACT_STREAM_OPTIONS);
const buckets = await ensureBuckets(nc, names, {
  limits: {
    jobResults: { maxBytes: 512 * 1024 * 1024 },
    jobInputs: COMPACT_BUCKET_OPTIONS.limits?.jobInputs ?? {},
  },
});
const [admin, bot, worker] = (["admin", "bot", "worker"] as const).map((scope) => testToken(scope));
if (admin === undefined || bot === undefined || worker === undefined) throw new Error("tokens");
const billingPort = await freePort();
const billingMetricsPort = await freePort();
const billingUrl = `http://127.0.0.1:${billingPort}`;
billingProcess = spawnDist("billing", {
  DATABASE_URL: database.url,
  BILLING_HOST: "127.0.0.1",
  BILLING_PORT: String(billingPort),
  BILLING_METRICS_PORT: String(billingMetricsPort),
  BILLING_TOKENS: [admin.entry, bot.entry, worker.entry].join(","),
  NATS_URL,
  NATS_NAMESPACE: names.namespace,
  LOG_LEVEL: "warn",
});
try {
  await waitReady(`http://127.0.0.1:${billingMetricsPort}/readyz`, "billing");
  const botClient = createBillingClient({ baseUrl: billingUrl, token: bot.token, timeoutMs: 30_000 });
  const adminClient = createBillingClient({ baseUrl: billingUrl, token: admin.token, timeoutMs: 30_000 });
  const userOf = (index: number) => `telegram:${900_000 + (index % USERS)}`;
  for (let u = 0; u < USERS; u++) {
    await botClient.wallet.openAccount({ userRef: userOf(u) });
    await adminClient.wallet.grant({
      userRef: userOf(u),
      amountCredits: 1_000_000n,
      reason: "bench",
      idempotencyKey: `bench-grant-${u}`,
    });
  }
  const collector = collectCompletions(nc, names);
  const submit = async (jobId: string, index: number) => {
    const userRef = userOf(index);
    const reserved = await botClient.wallet.reserve({
      userRef,
      operation: "generate",
      idempotencyKey: jobId,
      jobId,
      timeout: durationFromMs(10 * 60_000),
    });
    collector.published.set(jobId, performance.now());
    await publishGenerationRequested(
      js,
      names,
      create(GenerationRequestedSchema, {
        jobId,
        userRef,
        operation: "generate",
        holdId: reserved.hold?.holdId ?? "",
        prompt: "bench",
      }),
    );
  };
  const startWorkers = async (count: number) => {
    for (let w = 0; w < count; w++) {
      const opsPort = await freePort();
      workerProcesses.push(
        spawnDist("worker", {
          NATS_URL,
          NATS_NAMESPACE: names.namespace,
          BILLING_URL: billingUrl,
          BILLING_TOKEN: worker.token,
          WORKER_CONCURRENCY: String(CONCURRENCY),
          WORKER_LOCAL_ZERO_WORK: "true",
          WORKER_OPS_HOST: "127.0.0.1",
          WORKER_OPS_PORT: String(opsPort),
          LOG_LEVEL: "warn",
        }),
      );
      workerOpsPorts.push(opsPort);
      await waitReady(`http://127.0.0.1:${opsPort}/readyz`, "worker");
    }
  };
  const handlerMean = async () => {
    let sum = 0;
    let count = 0;
    for (const port of workerOpsPorts) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const value = (name: string) =>
        Number(new RegExp(`^${name}\\{[^}]*outcome="completed"[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
      sum += value("worker_job_duration_seconds_sum");
      count += value("worker_job_duration_seconds_count");
    }
    return count === 0 ? "—" : ((sum / count) * 1000).toFixed(1);
  };
  const memory = async () => ({
    handlerMs: await handlerMean(),
    workerRss: workerProcesses.map((p) => memoryOf(p.pid).hwmMiB.toFixed(0)).join(" + "),
    billingRss: memoryOf(billingProcess.pid).hwmMiB.toFixed(0),
  });
  const phases: [string, number][] = [
    ["1w", 1],
    [`${WORKERS}w`, WORKERS],
  ];
  for (const [phase, count] of phases) {
    await startWorkers(count);
    rows.push(await measure("full pipeline", `${count} × ${CONCURRENCY}`, collector, phase, submit, memory));
    for (const child of workerProcesses.splice(0)) await stop(child);
    workerOpsPorts.length = 0;
  }

  // 3. Checks.
  const expected = phases.length * (JOBS + WARMUP);
  if (collector.duplicates > 0) problems.push(`${collector.duplicates} duplicate completed events`);
  if (collector.failed > 0) problems.push(`${collector.failed} failed events`);
  const holds = await withPg(
    database.url,
    async (pg) =>
      (
        await pg.query<{ state: string; count: string }>(
          "select state, count(*) from ledger_holds group by state",
        )
      ).rows,
  );
  const posted = Number(holds.find((h) => h.state === "POSTED")?.count ?? 0);
  if (posted !== expected || holds.length !== 1)
    problems.push(`holds: ${JSON.stringify(holds)}, expected ${expected} POSTED`);
  const objects = (await buckets.results.list()).filter((o) => !o.deleted);
  if (objects.length !== expected || new Set(objects.map((o) => o.name)).size !== expected) {
    problems.push(`result objects: ${objects.length}, expected ${expected}, one per job`);
  }
  const results = (await jsm.streams.info(names.streams.jobResults)).state.messages;
  if (results !== expected) problems.push(`JOBS_RESULTS holds ${results} messages, expected ${expected}`);
  const queued = (await jsm.streams.info(names.streams.jobs)).state.messages;
  const dead = (await jsm.streams.info(names.streams.deadLetter)).state.messages;
  if (queued !== 0 || dead !== 0) problems.push(`queued ${queued}, dead-lettered ${dead}`);
  const verified = await adminClient.wallet.verifyLedger({});
  if (verified.violations.length > 0) problems.push(`ledger: ${verified.violations.length} violations`);
  const drainDeadline = Date.now() + 60_000;
  let backlog = -1;
  while (backlog !== 0 && Date.now() < drainDeadline) {
    backlog = await withPg(database.url, async (pg) =>
      Number(
        (await pg.query<{ n: string }>("select count(*) as n from outbox_events where published_at is null"))
          .rows[0]?.n,
      ),
    );
    if (backlog !== 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (backlog !== 0) problems.push(`outbox backlog ${backlog}`);
  const billingEvents = (await jsm.streams.info(names.streams.billingEvents)).state.messages;
  botClient.close();
  adminClient.close();

  // 4. The table.
  const header = [
    "pipeline",
    "workers × concurrency",
    "jobs",
    "jobs/s",
    "e2e p50 ms",
    "e2e p99 ms",
    "publish→completed p50 / p99 ms",
    "worker ms/job",
    "worker peak RSS MiB",
    "billing peak RSS MiB",
  ];
  const table = [
    header,
    ...rows.map((r) => [
      r.pipeline,
      r.workers,
      String(r.jobs),
      (r.jobs / r.seconds).toFixed(0),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      `${r.queueP50.toFixed(1)} / ${r.queueP99.toFixed(1)}`,
      r.handlerMs,
      r.workerRss,
      r.billingRss,
    ]),
  ];
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of table.slice(1)) console.log(line(row));
  console.log(
    `\ne2e: Reserve call (baseline: publish) → completed event received here; ${SUBMITTERS} submitters in a closed loop, ${USERS} users, ` +
      `local provider with zeroWork; ${WARMUP} warm-up jobs per row not measured.`,
  );
  console.log(
    `checks: ${expected} holds POSTED, ${objects.length} result objects, ${results} completed events, ` +
      `${billingEvents} billing events relayed, outbox backlog ${backlog}, ledger violations ${verified.violations.length}` +
      (problems.length === 0 ? " — all OK" : ""),
  );
  for (const problem of problems) console.error(`PROBLEM: ${problem}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
} finally {
  await cleanup();
}
