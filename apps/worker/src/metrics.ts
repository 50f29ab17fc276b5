// The worker's metrics: jobs by outcome and how long they took, where that time went (each step of
// a job: billing calls, the provider, the result store, publishing, acking), jobs in hand.
import { Counter, Histogram, type Registry } from "@billing/observability";

/** The steps a job's time is spent in; `bench:jobs` prints their means side by side. */
export const JOB_STEPS = [
  "provider",
  "result_lookup",
  "result_put",
  "billing_commit",
  "billing_release",
  "billing_other",
  "publish",
  "ack",
] as const;
export type JobStep = (typeof JOB_STEPS)[number];

/** What became of one delivery, for metrics and logs. */
export type JobResult = "completed" | "failed" | "retry" | "dead_letter";

export interface StepTimer {
  /** Runs `work` and records how long it took under `step`, whether it succeeded or not. */
  time<T>(step: JobStep, work: () => Promise<T>): Promise<T>;
  record(step: JobStep, durationMs: number): void;
}

export interface WorkerMetrics {
  job(result: JobResult, durationMs: number): void;
  readonly steps: StepTimer;
}

/** A timer that records nothing (handlers called without metrics, e.g. in unit tests). */
export const NO_STEP_TIMER: StepTimer = { time: (_step, work) => work(), record: () => undefined };

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const jobs = new Counter({
    name: "worker_jobs_total",
    help: "Job deliveries by outcome: completed, failed (hold released or expired), retry (nak), dead_letter",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "worker_job_duration_seconds",
    help: "Time from taking a job delivery to its outcome (provider, storage, billing, publish)",
    labelNames: ["outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const stepDuration = new Histogram({
    name: "worker_job_step_seconds",
    help: `Time spent in one step of a job delivery (${JOB_STEPS.join(", ")})`,
    labelNames: ["step"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  // Pre-create every outcome so dashboards see zeros rather than gaps.
  for (const outcome of ["completed", "failed", "retry", "dead_letter"] as const) jobs.inc({ outcome }, 0);
  const record = (step: JobStep, durationMs: number) => stepDuration.observe({ step }, durationMs / 1000);
  return {
    job(result, durationMs) {
      jobs.inc({ outcome: result });
      duration.observe({ outcome: result }, durationMs / 1000);
    },
    steps: {
      record,
      async time(step, work) {
        const started = performance.now();
        try {
          return await work();
        } finally {
          record(step, performance.now() - started);
        }
      },
    },
  };
}
