// The measuring half of `npm run bench:jobs`: completed events collected per job, closed- and
// open-loop submission, percentiles, and what the apps' own metrics and /proc say about where a
// job's time and CPU went. jobs.ts starts the processes and prints the tables.
import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import type { NatsConnection, NatsNames } from "@billing/events";
import { GenerationCompletedSchema } from "@billing/proto/events/v1/jobs_pb";
import { postgresCpuBetween } from "./cpu.js";

/** How jobs are submitted: as fast as `submitters` callers can (closed), or at a fixed rate (open). */
export type Load = { kind: "closed"; submitters: number } | { kind: "open"; jobsPerSecond: number };

export interface Row {
  pipeline: string;
  load: string;
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
  /** Where the time went, from the apps' metrics and /proc (full pipeline rows only). */
  profile?: Profile;
}

export interface Profile {
  /** Mean ms per completed job in each step of the worker (worker_job_step_seconds), and in all. */
  stepsMs: Map<string, number>;
  handlerMs: number;
  /** Mean ms billing spent serving each procedure (billing_rpc_duration_seconds) and calls per job. */
  billing: Map<string, { ms: number; perJob: number }>;
  /** CPU ms per job (user + system) of each part of the pipeline (the workers together). */
  cpuMs: CpuReading;
}

/**
 * CPU ms (user + system) used so far by each part of the pipeline on this machine: the worker
 * processes together, billing, billing's PostgreSQL backends, the NATS server (NaN when it runs
 * elsewhere) and this bench process (which plays the bot: Reserve, publish, and the collector).
 */
export interface CpuReading {
  workers: number;
  billing: number;
  postgres: number;
  nats: number;
  bench: number;
}

export const CPU_PARTS = [
  "workers",
  "billing",
  "postgres",
  "nats",
  "bench",
] as const satisfies readonly (keyof CpuReading)[];

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export function memoryOf(pid: number | undefined): { hwmMiB: number; rssMiB: number } {
  if (pid === undefined) return { hwmMiB: 0, rssMiB: 0 };
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { hwmMiB: kb("VmHWM") / 1024, rssMiB: kb("VmRSS") / 1024 };
}

/** Sums of Prometheus samples by metric name and label set, e.g. `x_sum{step="publish"}`. */
export async function scrape(urls: readonly string[]): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  for (const url of urls) {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    for (const line of text.split("\n")) {
      const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (match?.[1] === undefined || match[3] === undefined) continue;
      // The apps' default label (app="worker") is left out of the key.
      const labels = (match[2] ?? "").split(",").filter((pair) => pair !== "" && !pair.startsWith("app="));
      const key = labels.length === 0 ? match[1] : `${match[1]}{${labels.join(",")}}`;
      samples.set(key, (samples.get(key) ?? 0) + Number(match[3]));
    }
  }
  return samples;
}

/** The change of every sample between two scrapes. */
export function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([key, value]) => [key, value - (before.get(key) ?? 0)]));
}

/** Mean ms per completed job of each step, of the handler, and of billing's procedures. */
export function profileOf(
  workers: Map<string, number>,
  billing: Map<string, number>,
  cpu: CpuReading,
): Profile {
  const completed = workers.get('worker_job_duration_seconds_count{outcome="completed"}') ?? 0;
  const perJob = (seconds: number) => (completed === 0 ? Number.NaN : (seconds * 1000) / completed);
  const stepsMs = new Map<string, number>();
  for (const [key, value] of workers) {
    const step = /^worker_job_step_seconds_sum\{step="([a-z_]+)"\}$/.exec(key)?.[1];
    if (step !== undefined && value > 0) stepsMs.set(step, perJob(value));
  }
  // Summed over the codes of each procedure.
  const totals = new Map<string, { count: number; seconds: number }>();
  for (const [key, count] of billing) {
    const procedure =
      /^billing_rpc_duration_seconds_count\{procedure="billing\.v1\.WalletService\/(\w+)"/.exec(key)?.[1];
    if (procedure === undefined || count === 0) continue;
    const seen = totals.get(procedure) ?? { count: 0, seconds: 0 };
    seen.count += count;
    seen.seconds += billing.get(key.replace("_count{", "_sum{")) ?? 0;
    totals.set(procedure, seen);
  }
  const calls = new Map(
    [...totals].map(([procedure, t]) => [
      procedure,
      { ms: (t.seconds * 1000) / t.count, perJob: completed === 0 ? Number.NaN : t.count / completed },
    ]),
  );
  return {
    stepsMs,
    handlerMs: perJob(workers.get('worker_job_duration_seconds_sum{outcome="completed"}') ?? 0),
    billing: calls,
    cpuMs: {
      workers: perJob(cpu.workers / 1000),
      billing: perJob(cpu.billing / 1000),
      postgres: perJob(cpu.postgres / 1000),
      nats: perJob(cpu.nats / 1000),
      bench: perJob(cpu.bench / 1000),
    },
  };
}

/** Completed events of one namespace; latency is measured from `started` to arrival. */
export function collectCompletions(nc: NatsConnection, names: NatsNames) {
  const started = new Map<string, number>();
  const published = new Map<string, number>();
  const latencies = new Map<string, number>();
  const queueLatencies = new Map<string, number>();
  let duplicates = 0;
  let failed = 0;
  let last = 0;
  let measuredCount = 0;
  let waiter: { count: number; resolve: () => void } | undefined;
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
      if (jobId.startsWith("m-")) measuredCount++;
      if (waiter !== undefined && measuredCount >= waiter.count) waiter.resolve();
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
      if (measuredCount >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${measuredCount}/${count} completed`)),
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
      measuredCount = 0;
    },
  };
}

export type Collector = ReturnType<typeof collectCompletions>;

/** Runs `count` submissions with at most `submitters` at once; returns when all were submitted. */
export async function submitClosed(
  count: number,
  submitters: number,
  submit: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(submitters, count) }, async () => {
      for (let index = next++; index < count; index = next++) await submit(index);
    }),
  );
}

/**
 * Starts submission `index` at `index / jobsPerSecond` seconds, whether or not earlier ones have
 * finished (no coordinated omission: `onStart` gets the scheduled time, so a late start counts).
 */
export async function submitOpen(
  count: number,
  jobsPerSecond: number,
  onStart: (index: number, scheduledAt: number) => void,
  submit: (index: number) => Promise<void>,
): Promise<void> {
  const t0 = performance.now();
  const intervalMs = 1000 / jobsPerSecond;
  const running: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const scheduledAt = t0 + index * intervalMs;
    const waitMs = scheduledAt - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    onStart(index, scheduledAt);
    running.push(submit(index));
  }
  await Promise.all(running);
}

export interface Measurement {
  pipeline: string;
  workers: string;
  load: Load;
  jobs: number;
  warmup: number;
  collector: Collector;
  phase: string;
  submit: (jobId: string, index: number) => Promise<void>;
  /** Taken when the measured part starts and when it ends. */
  snapshot?: () => Promise<Snapshot>;
  memory: () => { workerRss: string; billingRss: string };
}

export interface Snapshot {
  workers: Map<string, number>;
  billing: Map<string, number>;
  /** CPU so far of every part but PostgreSQL, whose backends are read one by one. */
  cpu: Omit<CpuReading, "postgres">;
  postgresByPid: ReadonlyMap<number, number>;
}

export async function measure(m: Measurement): Promise<Row> {
  const { collector } = m;
  // Warm-up (not measured): JIT, connection pools, consumer state.
  collector.reset();
  await submitClosed(m.warmup, 16, (i) => m.submit(`w-${m.phase}-${i}`, i));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  collector.reset();
  const before = await m.snapshot?.();
  const t0 = performance.now();
  const done = collector.measured(m.jobs, 300_000);
  const jobIdOf = (i: number) => `m-${m.phase}-${i}`;
  if (m.load.kind === "closed") {
    await submitClosed(m.jobs, m.load.submitters, async (i) => {
      collector.started.set(jobIdOf(i), performance.now());
      await m.submit(jobIdOf(i), i);
    });
  } else {
    await submitOpen(
      m.jobs,
      m.load.jobsPerSecond,
      (i, scheduledAt) => collector.started.set(jobIdOf(i), scheduledAt),
      (i) => m.submit(jobIdOf(i), i),
    );
  }
  await done;
  const seconds = (collector.last - t0) / 1000;
  const after = await m.snapshot?.();
  const measured = (latencies: Map<string, number>) =>
    [...latencies.entries()]
      .filter(([id]) => id.startsWith("m-"))
      .map(([, ms]) => ms)
      .sort((a, b) => a - b);
  const sorted = measured(collector.latencies);
  const queue = measured(collector.queueLatencies);
  return {
    pipeline: m.pipeline,
    load:
      m.load.kind === "closed"
        ? `closed, ${m.load.submitters} submitters`
        : `open, ${m.load.jobsPerSecond}/s`,
    workers: m.workers,
    jobs: m.jobs,
    seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    queueP50: percentile(queue, 50),
    queueP99: percentile(queue, 99),
    ...m.memory(),
    ...(before === undefined || after === undefined
      ? {}
      : {
          profile: profileOf(delta(before.workers, after.workers), delta(before.billing, after.billing), {
            workers: after.cpu.workers - before.cpu.workers,
            billing: after.cpu.billing - before.cpu.billing,
            postgres: postgresCpuBetween(before.postgresByPid, after.postgresByPid),
            nats: after.cpu.nats - before.cpu.nats,
            bench: after.cpu.bench - before.cpu.bench,
          }),
        }),
  };
}
