// One generation job, from its hold to its result, in at most one billing call: Commit when the
// image is stored, or Release when the job cannot be done (the bot made the Reserve). Commit and
// Release name the job, user and operation the hold must pay for, so billing itself refuses another
// hold (HOLD_MISMATCH) and the worker never reads the hold first.
//
// Every step is safe to repeat, because JetStream delivers at least once: a result stored by an
// earlier delivery is reused (the provider runs and is paid once), Commit and Release answer a
// replay with the same outcome, and results are published with Nats-Msg-Id "<job id>:completed" /
// ":failed". So a redelivered job never charges twice and never yields two results, and an image
// is announced only once its hold is committed.
import { create } from "@bufbuild/protobuf";
import { timestampMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { ack, deadLetter, findImage, type Delivery, nak, publishGenerationCompleted } from "@billing/events";
import { FundingSource } from "@billing/proto/billing/v1/wallet_pb";
import {
  GenerationCompletedSchema,
  type GenerationRequested,
  type ImageRef,
} from "@billing/proto/events/v1/jobs_pb";
import { generateResult } from "./generate.js";
import {
  BILLING_RETRY_DELAY_MS,
  endingRefusal,
  expectationOf,
  logRefusal,
  publishFailure,
  releaseAndFail,
  retryBilling,
  USER_MESSAGES,
} from "./job-failures.js";
import { NO_STEP_TIMER } from "./metrics.js";
import type { JobDeps, JobEnd, JobResult } from "./job-types.js";

export type { JobDeps, JobEnd, JobResult };

export async function handleJob(delivery: Delivery<GenerationRequested>, deps: JobDeps): Promise<JobEnd> {
  const job = delivery.message;
  const problem = invalidJob(job);
  if (problem !== undefined) {
    // Without a job and hold id nothing can be resolved: operators get it; the hold (if any) expires.
    return { outcome: deadLetter("invalid", problem), result: "dead_letter" };
  }
  const steps = deps.steps ?? NO_STEP_TIMER;

  // A result stored by an earlier delivery (which then died before committing or publishing) is the
  // result: the provider does not run, and is not paid, twice.
  const result = await steps.time("result_lookup", () =>
    findImage(deps.buckets.results, deps.buckets.names.jobResults, job.jobId),
  );
  if (result !== undefined) return commitAndAnnounce(deps, job, result, "reused");
  if (startsTooLate(job, deps)) {
    // The provider would finish after the hold expired, and billing could not take the payment:
    // the provider is not called (nor paid), and the user gets their credits back now.
    return releaseAndFail(deps, job, "hold_expired", USER_MESSAGES.hold_expired, () =>
      // Committed by an earlier delivery whose result is gone: it is paid, so it is delivered.
      generateAndCommit(delivery, deps),
    );
  }
  return generateAndCommit(delivery, deps);
}

async function generateAndCommit(delivery: Delivery<GenerationRequested>, deps: JobDeps): Promise<JobEnd> {
  const generated = await generateResult(delivery, deps);
  return "done" in generated
    ? generated.done
    : commitAndAnnounce(deps, delivery.message, generated.ref, "created");
}

/** True when less than the job's expected duration is left before its hold expires. */
export function startsTooLate(
  job: GenerationRequested,
  deps: Pick<JobDeps, "expectedJobMs" | "now">,
): boolean {
  // A job without the hold's expiry (an older bot) cannot be judged: Commit stays the guard.
  if (job.holdExpiresAt === undefined) return false;
  const leftMs = timestampMs(job.holdExpiresAt) - (deps.now ?? Date.now)();
  return leftMs < (deps.expectedJobMs?.(job.operation) ?? 0);
}

/**
 * Commits the hold (checking it is this job's) and announces the result; or says why not. `origin`:
 * whether this delivery made the result or found it under the job id.
 */
async function commitAndAnnounce(
  deps: JobDeps,
  job: GenerationRequested,
  result: ImageRef,
  origin: "created" | "reused",
): Promise<JobEnd> {
  let committed;
  try {
    // A hold posted by an earlier delivery answers the same again: the charge, once.
    committed = await (deps.steps ?? NO_STEP_TIMER).time("billing_commit", () =>
      deps.wallet.commit({ holdId: job.holdId, expected: expectationOf(job) }),
    );
  } catch (error) {
    const refusal = endingRefusal(error);
    if (refusal === undefined) return retryBilling(deps, job, "Commit", error);
    // Not paid: the image must never reach the user. A result found under the job id is deleted
    // only when the hold is this job's (expired or released): a job naming another hold must not
    // remove what a real job of that id made.
    if (origin === "created" || refusal.refunded) {
      await deps.buckets.results.delete(job.jobId).catch((e: unknown) => {
        deps.log.warn({ job_id: job.jobId, err: e }, "could not delete the unpaid result");
      });
    }
    logRefusal(deps, job, refusal.code);
    return publishFailure(deps, job, refusal.code, USER_MESSAGES[refusal.code], refusal.refunded);
  }
  const { hold, balanceAfter } = committed;
  if (hold === undefined || balanceAfter === undefined) {
    return retryBilling(deps, job, "Commit", new Error("Commit answered without a hold"));
  }
  const completed = create(GenerationCompletedSchema, {
    jobId: job.jobId,
    userRef: job.userRef,
    operation: job.operation,
    holdId: job.holdId,
    result,
    chatId: job.chatId,
    locale: job.locale,
    chargedCredits: hold.fundedBy === FundingSource.CREDITS ? hold.postedAmount : 0n,
    chargedFreeOperations: hold.fundedBy === FundingSource.FREE_OPERATION ? hold.postedAmount : 0n,
    creditsAvailable: balanceAfter.creditsAvailable,
    freeOperationsAvailable: balanceAfter.freeOperationsAvailable,
    completedAt: timestampNow(),
    provider: deps.provider.name,
  });
  try {
    await (deps.steps ?? NO_STEP_TIMER).time("publish", () =>
      publishGenerationCompleted(deps.js, deps.names, completed),
    );
  } catch (error) {
    // Paid and stored, not announced: the redelivery finds the result, Commit answers the same.
    deps.log.warn(
      { job_id: job.jobId, err: error },
      "could not publish the completed event; retrying the job",
    );
    return { outcome: nak(BILLING_RETRY_DELAY_MS), result: "retry" };
  }
  return { outcome: ack, result: "completed" };
}

function invalidJob(job: GenerationRequested): string | undefined {
  if (job.jobId === "" || job.jobId.length > 200) return "job_id must have 1..200 characters";
  if (job.holdId === "") return "hold_id is required";
  if (job.userRef === "") return "user_ref is required";
  if (job.operation === "") return "operation is required";
  if (job.inputImages.length > 8) return "at most 8 input images";
  return undefined;
}
