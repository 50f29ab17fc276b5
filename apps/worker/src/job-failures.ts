// How a job ends without an image: the hold released (credits or the free operation go back) and a
// jobs.generation.failed event the bot turns into a message; or a nak when billing or NATS could not
// be reached, so the job comes back. Every path here is safe to repeat on a redelivery.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, errorReason } from "@billing/client";
import type { Hold } from "@billing/proto/billing/v1/wallet_pb";
import { ack, nak, publishGenerationFailed } from "@billing/events";
import {
  GenerationFailedSchema,
  type GenerationRequested,
  type Returned,
  ReturnedSchema,
} from "@billing/proto/events/v1/jobs_pb";
import type { JobDeps, JobEnd } from "./job-types.js";
import { NO_STEP_TIMER } from "./metrics.js";
import { PROVIDER_ERROR_KINDS } from "./providers/index.js";

/** Failure codes of the worker itself, next to the provider's (see GenerationFailed.reason_code). */
export type WorkerFailureCode =
  "hold_expired" | "hold_released" | "hold_not_found" | "hold_mismatch" | "input_missing";

export const USER_MESSAGES: Record<WorkerFailureCode, string> = {
  hold_expired: "The request took too long and was cancelled. You were not charged.",
  hold_released: "The request was cancelled. You were not charged.",
  hold_not_found: "The request could not be processed. You were not charged.",
  hold_mismatch: "The request could not be processed. You were not charged.",
  input_missing: "The photo could not be read. Please send it again.",
};

const MAX_RELEASE_REASON_CHARS = 256;
/** Billing calls that fail for a passing reason are retried by the client; then the job is nak'ed. */
export const BILLING_RETRY_DELAY_MS = 2_000;

/** The job, user and operation its hold must pay for: billing refuses any other hold (HOLD_MISMATCH). */
export function expectationOf(job: GenerationRequested) {
  return { jobId: job.jobId, userRef: job.userRef, operation: job.operation };
}

/**
 * Billing's refusals of a Commit or a Release that end the job: the failure code the user is told
 * about, and whether the hold gave its value back. Anything else is passing trouble (nak).
 */
export function endingRefusal(error: unknown): { code: WorkerFailureCode; refunded: boolean } | undefined {
  switch (errorReason(error)) {
    case "HOLD_EXPIRED":
      return { code: "hold_expired", refunded: true };
    case "HOLD_ALREADY_VOIDED":
      return { code: "hold_released", refunded: true };
    case "HOLD_NOT_FOUND":
      return { code: "hold_not_found", refunded: false };
    case "HOLD_MISMATCH":
      return { code: "hold_mismatch", refunded: false };
    default:
      return undefined;
  }
}

/**
 * Returns the hold (credits or the free operation go back) and tells the user why: one billing call.
 * `onPosted` is what to do when the hold turns out committed already (an earlier delivery).
 */
export async function releaseAndFail(
  deps: JobDeps,
  job: GenerationRequested,
  code: string,
  message: string,
  onPosted?: () => Promise<JobEnd>,
): Promise<JobEnd> {
  try {
    const released = await (deps.steps ?? NO_STEP_TIMER).time("billing_release", () =>
      deps.wallet.release({
        holdId: job.holdId,
        reason: formatReleaseReason(code, message),
        expected: expectationOf(job),
      }),
    );
    // Released before by an earlier delivery of this job (or by the bot): its reason says why.
    const said = parseReleaseReason(released.hold?.resolutionReason ?? "");
    return publishFailure(deps, job, said.code, said.message, true, returnedBy(released.hold));
  } catch (error) {
    if (errorReason(error) === "HOLD_ALREADY_POSTED" && onPosted !== undefined) return onPosted();
    const refusal = endingRefusal(error);
    if (refusal === undefined) return retryBilling(deps, job, "Release", error);
    if (refusal.code !== "hold_expired" && refusal.code !== "hold_released") {
      logRefusal(deps, job, refusal.code);
      return publishFailure(deps, job, refusal.code, USER_MESSAGES[refusal.code], refusal.refunded);
    }
    // Expired meanwhile: the user was not charged either way; say why this job failed.
    return publishFailure(deps, job, code, message, true);
  }
}

export async function publishFailure(
  deps: JobDeps,
  job: GenerationRequested,
  code: string,
  message: string,
  refunded: boolean,
  returned?: Returned,
): Promise<JobEnd> {
  const failed = create(GenerationFailedSchema, {
    jobId: job.jobId,
    userRef: job.userRef,
    operation: job.operation,
    holdId: job.holdId,
    chatId: job.chatId,
    locale: job.locale,
    reasonCode: code,
    reasonMessage: message,
    refunded,
    failedAt: timestampNow(),
    ...(returned === undefined ? {} : { returned }),
  });
  try {
    await (deps.steps ?? NO_STEP_TIMER).time("publish", () =>
      publishGenerationFailed(deps.js, deps.names, failed),
    );
  } catch (error) {
    deps.log.warn({ job_id: job.jobId, err: error }, "could not publish the failed event; retrying the job");
    return { outcome: nak(BILLING_RETRY_DELAY_MS), result: "retry" };
  }
  return { outcome: ack, result: "failed" };
}

/** What a released hold gave back, so the bot can say it without asking billing. */
function returnedBy(hold: Hold | undefined): Returned | undefined {
  if (hold === undefined) return undefined;
  return create(ReturnedSchema, {
    credits: hold.amountCredits,
    freeOperations: hold.amountFreeOperations,
  });
}

export function retryBilling(deps: JobDeps, job: GenerationRequested, call: string, error: unknown): JobEnd {
  const code = error instanceof ConnectError ? Code[error.code] : undefined;
  deps.log.warn(
    { job_id: job.jobId, hold_id: job.holdId, call, code, reason: errorReason(error), err: error },
    "billing call failed; retrying the job",
  );
  return { outcome: nak(BILLING_RETRY_DELAY_MS), result: "retry" };
}

/** A hold that is not this job's (or none at all) is a bug or tampering upstream: operators look. */
export function logRefusal(deps: JobDeps, job: GenerationRequested, code: WorkerFailureCode): void {
  if (code === "hold_mismatch" || code === "hold_not_found") {
    deps.log.error(
      { job_id: job.jobId, hold_id: job.holdId, user_ref: job.userRef, operation: job.operation, code },
      "the job's hold is missing or belongs to another job, user or operation; it was not touched",
    );
  }
}

/** "code: message" — kept in the hold's resolution_reason so a replayed failure says the same. */
export function formatReleaseReason(code: string, message: string): string {
  return `${code}: ${message}`.slice(0, MAX_RELEASE_REASON_CHARS);
}

export function parseReleaseReason(reason: string): { code: string; message: string } {
  const match = /^([a-z_]{1,40}): (.+)$/s.exec(reason);
  const code = match?.[1];
  const message = match?.[2];
  if (
    code !== undefined &&
    message !== undefined &&
    (code in PROVIDER_ERROR_KINDS || code in USER_MESSAGES)
  ) {
    return { code, message };
  }
  return { code: "hold_released", message: USER_MESSAGES.hold_released };
}
