// @billing/worker: the generation worker (startWorker, the job handler) and its provider layer.
export * from "./providers/index.js";
export {
  formatReleaseReason,
  handleJob,
  parseReleaseReason,
  type JobDeps,
  type JobResult,
} from "./job-handler.js";
export { startWorker, type Worker, type WorkerOptions } from "./worker.js";
