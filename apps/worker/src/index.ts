// @billing/worker: the generation worker (startWorker, the job handler) and its provider layer.
export * from "./providers/index.js";
export { handleJob, startsTooLate, type JobDeps, type JobEnd, type JobResult } from "./job-handler.js";
export { formatReleaseReason, parseReleaseReason } from "./job-failures.js";
export { startWorker, type Worker, type WorkerOptions } from "./worker.js";
