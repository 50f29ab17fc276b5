// `npm run bench:jobs [-- --jobs 2000 --workers 2 --concurrency 16 --submitters 64 --users 100
//                        --open-rate 50 --open-jobs 500 --profile DIR]`
//
// Pushes generation jobs through the whole pipeline — Reserve (billing) → JetStream → worker
// (local provider, zeroWork) → Commit (billing) → jobs.generation.completed — with billing and the
// workers as real processes built from dist/, and prints throughput, end-to-end latency (from the
// Reserve call to the completed event arriving here) and peak RSS. One run, side by side:
//   baseline   the same JetStream path (publish → durable pull consumer → publish completed → ack)
//              with no billing, no provider and no object store, handled in this process: the floor
//              the messaging itself costs; closed loop, and open loop at the fixed rate;
//   full       the full pipeline with 1 and with N worker processes, closed loop (throughput), and
//              open loop at a fixed rate (everyday latency: with zeroWork, all of it is pipeline).
// The closed loop's submitters must outrun the workers, or a row measures the submitters: with 16,
// the 2-worker row's queue stayed empty (publish → completed 76 ms against 1 s with 1 worker) and
// its Reserves came in small batches; 64 keep a queue in front of both rows.
// A second table says where a full-pipeline job's time went (the worker's per-step metrics, billing's
// per-procedure metrics, CPU per job from /proc). --profile DIR also writes V8 CPU profiles of billing
// and the workers there. Then it checks that every hold is POSTED, every job has exactly one
// completed event and one result object, nothing is left queued or dead-lettered, the ledger
// verifies, and the outbox drained.
import { type ChildProcess, spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
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
  natsNames,
  publishGenerationCompleted,
  publishGenerationRequested,
  startConsumer,
  workerConsumer,
} from "@billing/events";
import { createLogger } from "@billing/observability";
import { GenerationCompletedSchema, GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { freePort, NATS_URL, testDatabase, testToken, uniqueName, withPg } from "@billing/testkit";
import { ROOT } from "../local-env.js";
import { cpuMsOf, ownCpuMs, pidOfCommand, postgresCpuByPid } from "./cpu.js";
import { collectCompletions, type Load, measure, memoryOf, type Row, scrape } from "./jobs-measure.js";
import { printTables } from "./jobs-report.js";
import { nodeFlagsOf, settingsFromEnvironment } from "./settings.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "2000" },
    workers: { type: "string", default: "2" },
    concurrency: { type: "string", default: "16" },
    submitters: { type: "string", default: "64" },
    users: { type: "string", default: "100" },
    warmup: { type: "string", default: "100" },
    "open-rate": { type: "string", default: "50" },
    "open-jobs": { type: "string", default: "500" },
    // A directory: billing and the workers then write V8 CPU profiles (.cpuprofile) into it.
    profile: { type: "string" },
  },
});
const JOBS = Number(values.jobs);
const WORKERS = Number(values.workers);
const CONCURRENCY = Number(values.concurrency);
const USERS = Number(values.users);
const WARMUP = Number(values.warmup);
const OPEN_RATE = Number(values["open-rate"]);
const OPEN_JOBS = Number(values["open-jobs"]);
const CLOSED: Load = { kind: "closed", submitters: Number(values.submitters) };
const OPEN: Load = { kind: "open", jobsPerSecond: OPEN_RATE };
const log = createLogger({ app: "bench", level: "warn" });

function spawnDist(app: "billing" | "worker", env: Record<string, string>): ChildProcess {
  const profiling = values.profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${values.profile}`];
  const flags = nodeFlagsOf(app);
  const child = spawn(process.execPath, [...profiling, ...flags, `apps/${app}/dist/main.js`], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      ...settingsFromEnvironment(app === "billing" ? "BILLING_" : "WORKER_"),
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (values.profile !== undefined) console.error(`profiling ${app}: CPU.*.${child.pid}.*.cpuprofile`);
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
for (const [phase, load, jobs] of [
  ["base", CLOSED, JOBS],
  ["base-open", OPEN, OPEN_JOBS],
] as const) {
  rows.push(
    await measure({
      pipeline: "baseline: JetStream only",
      workers: `in-process ×${CONCURRENCY}`,
      load,
      jobs,
      warmup: WARMUP,
      collector: baseCollector,
      phase,
      submit: async (jobId) => {
        baseCollector.published.set(jobId, performance.now());
        await publishGenerationRequested(
          js,
          baseNames,
          create(GenerationRequestedSchema, { jobId, holdId: "none" }),
        );
      },
      memory: () => ({ workerRss: `bench ${memoryOf(process.pid).hwmMiB.toFixed(0)}`, billingRss: "—" }),
    }),
  );
}
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
  // What the bot does: Reserve, then publish the job with the hold's id and expiry.
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
        ...(reserved.hold?.expiresAt === undefined ? {} : { holdExpiresAt: reserved.hold.expiresAt }),
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
  // The machine's NATS server (the first nats-server found; NaN when none runs here), which is
  // NATS_URL's in CI and in local runs.
  const natsPid = pidOfCommand("nats-server");
  const snapshot = async () => ({
    workers: await scrape(workerOpsPorts.map((port) => `http://127.0.0.1:${port}/metrics`)),
    billing: await scrape([`http://127.0.0.1:${billingMetricsPort}/metrics`]),
    cpu: {
      workers: workerProcesses.reduce((sum, p) => sum + cpuMsOf(p.pid), 0),
      billing: cpuMsOf(billingProcess.pid),
      nats: natsPid === undefined ? Number.NaN : cpuMsOf(natsPid),
      bench: ownCpuMs(),
    },
    postgresByPid: await postgresCpuByPid(database),
  });
  const memory = () => ({
    workerRss: workerProcesses.map((p) => memoryOf(p.pid).hwmMiB.toFixed(0)).join(" + "),
    billingRss: memoryOf(billingProcess.pid).hwmMiB.toFixed(0),
  });
  const phases = [
    { count: 1, load: CLOSED, jobs: JOBS },
    { count: WORKERS, load: CLOSED, jobs: JOBS },
    { count: WORKERS, load: OPEN, jobs: OPEN_JOBS },
  ];
  for (const [index, { count, load, jobs }] of phases.entries()) {
    await startWorkers(count);
    rows.push(
      await measure({
        pipeline: "full pipeline",
        workers: `${count} × ${CONCURRENCY}`,
        load,
        jobs,
        warmup: WARMUP,
        collector,
        phase: `p${index}`,
        submit,
        snapshot,
        memory,
      }),
    );
    for (const child of workerProcesses.splice(0)) await stop(child);
    workerOpsPorts.length = 0;
  }

  // 3. Checks.
  const expected = phases.reduce((sum, phase) => sum + phase.jobs + WARMUP, 0);
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

  // 4. The tables.
  printTables(rows);
  console.log(
    `\ne2e: Reserve call (baseline: publish) → completed event received here; closed loop: ${CLOSED.submitters} ` +
      `submitters back to back; open loop: one job every ${1000 / OPEN_RATE} ms, latency from its scheduled ` +
      `start; ${USERS} users, local provider with zeroWork; ${WARMUP} warm-up jobs per row not measured.`,
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
