// What a job handler works with and answers: its dependencies and the end of one delivery. Shared by
// job-handler.ts, generate.ts, job-failures.ts and metrics.ts, so none of them imports another's
// types in a circle. No code.
import type { BillingClient } from "@billing/client";
import type { JetStreamClient, JobBuckets, NatsNames, Outcome } from "@billing/events";
import type { Logger } from "@billing/observability";
import type { JobResult, StepTimer } from "./metrics.js";

export type { JobResult };
import type { ImageProvider } from "./providers/index.js";

export interface JobEnd {
  outcome: Outcome;
  result: JobResult;
}

export interface JobDeps {
  wallet: BillingClient["wallet"];
  js: JetStreamClient;
  names: NatsNames;
  buckets: JobBuckets;
  provider: ImageProvider;
  log: Logger;
  /** Base of the provider-error backoff (default 1 s, doubling per delivery). */
  retryBaseMs?: number;
  /** Where each step's time goes (metrics); default: not recorded. */
  steps?: StepTimer;
  /**
   * How long a job of this operation is expected to take (default 0): a job whose hold expires
   * sooner is not started, its hold is released instead.
   */
  expectedJobMs?: (operation: string) => number;
  /** Epoch ms now; tests move it. */
  now?: () => number;
}
