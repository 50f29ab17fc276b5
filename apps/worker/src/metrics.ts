// The worker's metrics: jobs by outcome and how long they took, provider calls, jobs in hand.
import { Counter, Histogram, type Registry } from "@billing/observability";
import type { JobResult } from "./job-handler.js";

export interface WorkerMetrics {
  job(result: JobResult, durationMs: number): void;
}

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
  // Pre-create every outcome so dashboards see zeros rather than gaps.
  for (const outcome of ["completed", "failed", "retry", "dead_letter"] as const) jobs.inc({ outcome }, 0);
  return {
    job(result, durationMs) {
      jobs.inc({ outcome: result });
      duration.observe({ outcome: result }, durationMs / 1000);
    },
  };
}
