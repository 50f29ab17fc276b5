// One generation job, from its hold to its result. Every step is safe to repeat, because JetStream
// delivers at least once: the hold's state decides what is left to do, the result is stored under
// the job id (a second store replaces it), Commit and Release are idempotent per hold, and results
// are published with Nats-Msg-Id "<job id>:completed" / ":failed". So a redelivered job never charges
// twice and never yields two results, and a job whose hold expired is never delivered unpaid.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type BillingClient, Code, ConnectError, errorReason } from "@billing/client";
import {
  ack,
  bucketOf,
  deadLetter,
  findImage,
  ImageUnavailableError,
  type JetStreamClient,
  type JobBuckets,
  nak,
  type NatsNames,
  type Outcome,
  publishGenerationCompleted,
  publishGenerationFailed,
  putImage,
  readImage,
  type Delivery,
} from "@billing/events";
import type { Logger } from "@billing/observability";
import { FundingSource, type Hold, HoldState } from "@billing/proto/billing/v1/wallet_pb";
import {
  GenerationCompletedSchema,
  GenerationFailedSchema,
  type GenerationRequested,
  type ImageRef,
} from "@billing/proto/events/v1/jobs_pb";
import {
  type ImageProvider,
  type InputImage,
  isOperation,
  PROVIDER_ERROR_KINDS,
  ProviderError,
  retryDelayMs,
  toProviderError,
} from "./providers/index.js";

/** What became of one delivery, for metrics and logs. */
export type JobResult = "completed" | "failed" | "retry" | "dead_letter";

export interface JobDeps {
  wallet: BillingClient["wallet"];
  js: JetStreamClient;
  names: NatsNames;
  buckets: JobBuckets;
  provider: ImageProvider;
  log: Logger;
  /** Base of the provider-error backoff (default 1 s, doubling per delivery). */
  retryBaseMs?: number;
}

/** Failure codes of the worker itself, next to the provider's (see GenerationFailed.reason_code). */
type WorkerFailureCode =
  "hold_expired" | "hold_released" | "hold_not_found" | "hold_mismatch" | "input_missing";

const USER_MESSAGES: Record<WorkerFailureCode, string> = {
  hold_expired: "The request took too long and was cancelled. You were not charged.",
  hold_released: "The request was cancelled. You were not charged.",
  hold_not_found: "The request could not be processed. You were not charged.",
  hold_mismatch: "The request could not be processed. You were not charged.",
  input_missing: "The photo could not be read. Please send it again.",
};

const MAX_RELEASE_REASON_CHARS = 256;
/** Billing calls that fail for a passing reason are retried by the client; then the job is nak'ed. */
const BILLING_RETRY_DELAY_MS = 2_000;

export async function handleJob(
  delivery: Delivery<GenerationRequested>,
  deps: JobDeps,
): Promise<{ outcome: Outcome; result: JobResult }> {
  const job = delivery.message;
  const problem = invalidJob(job);
  if (problem !== undefined) {
    // Without a job and hold id nothing can be resolved: operators get it; the hold (if any) expires.
    return { outcome: deadLetter("invalid", problem), result: "dead_letter" };
  }

  let hold: Hold;
  try {
    const answer = await deps.wallet.getHold({ holdId: job.holdId });
    if (answer.hold === undefined) throw new Error("GetHold answered without a hold");
    hold = answer.hold;
  } catch (error) {
    if (errorReason(error) === "HOLD_NOT_FOUND") {
      return publishFailure(deps, job, "hold_not_found", USER_MESSAGES.hold_not_found, false);
    }
    return retryBilling(deps, job, "GetHold", error);
  }
  if (
    hold.userRef !== job.userRef ||
    hold.operation !== job.operation ||
    (hold.jobId !== "" && hold.jobId !== job.jobId)
  ) {
    deps.log.error(
      {
        job_id: job.jobId,
        hold_id: job.holdId,
        hold_user: hold.userRef,
        hold_operation: hold.operation,
        hold_job: hold.jobId,
      },
      "the job's hold belongs to another user, operation or job; not touching it",
    );
    return publishFailure(deps, job, "hold_mismatch", USER_MESSAGES.hold_mismatch, false);
  }

  switch (hold.state) {
    case HoldState.VOIDED: {
      // Released before: by an earlier delivery of this job (its reason says why) or by the bot.
      const { code, message } = parseReleaseReason(hold.resolutionReason);
      return publishFailure(deps, job, code, message, true);
    }
    case HoldState.EXPIRED:
      return publishFailure(deps, job, "hold_expired", USER_MESSAGES.hold_expired, true);
    case HoldState.POSTED:
    case HoldState.PENDING:
      break;
    default:
      return retryBilling(deps, job, "GetHold", new Error(`hold in unknown state ${hold.state}`));
  }

  // A result stored by an earlier delivery (which then died before committing or publishing) is the
  // result: the provider does not run, and is not paid, twice.
  let result = await findImage(deps.buckets.results, deps.buckets.names.jobResults, job.jobId);
  if (result === undefined) {
    const generated = await generate(delivery, deps);
    if ("done" in generated) return generated.done;
    result = generated.ref;
  }

  let charged = hold;
  let balance: { creditsAvailable: bigint; freeOperationsAvailable: bigint };
  if (hold.state === HoldState.PENDING) {
    try {
      const committed = await deps.wallet.commit({ holdId: job.holdId });
      if (committed.hold === undefined || committed.balanceAfter === undefined)
        throw new Error("Commit answered without a hold");
      charged = committed.hold;
      balance = committed.balanceAfter;
    } catch (error) {
      const reason = errorReason(error);
      if (reason === "HOLD_EXPIRED" || reason === "HOLD_ALREADY_VOIDED") {
        // Not paid: the image must never reach the user.
        await deps.buckets.results.delete(job.jobId).catch((e: unknown) => {
          deps.log.warn({ job_id: job.jobId, err: e }, "could not delete the unpaid result");
        });
        const code = reason === "HOLD_EXPIRED" ? "hold_expired" : "hold_released";
        return publishFailure(deps, job, code, USER_MESSAGES[code], true);
      }
      // Posted meanwhile by another delivery of this job: the next delivery takes the POSTED path.
      return retryBilling(deps, job, "Commit", error);
    }
  } else {
    // Committed by an earlier delivery that died before publishing: the balance now is the best
    // answer there is (the one right after the commit is gone).
    try {
      balance = await deps.wallet.getBalance({ userRef: job.userRef });
    } catch (error) {
      return retryBilling(deps, job, "GetBalance", error);
    }
  }

  const completed = create(GenerationCompletedSchema, {
    jobId: job.jobId,
    userRef: job.userRef,
    operation: job.operation,
    holdId: job.holdId,
    result,
    chatId: job.chatId,
    locale: job.locale,
    chargedCredits: charged.fundedBy === FundingSource.CREDITS ? charged.postedAmount : 0n,
    chargedFreeOperations: charged.fundedBy === FundingSource.FREE_OPERATION ? charged.postedAmount : 0n,
    creditsAvailable: balance.creditsAvailable,
    freeOperationsAvailable: balance.freeOperationsAvailable,
    completedAt: timestampNow(),
    provider: deps.provider.name,
  });
  try {
    await publishGenerationCompleted(deps.js, deps.names, completed);
  } catch (error) {
    // Paid and stored, not announced: the redelivery finds the hold POSTED and publishes again.
    deps.log.warn(
      { job_id: job.jobId, err: error },
      "could not publish the completed event; retrying the job",
    );
    return { outcome: nak(BILLING_RETRY_DELAY_MS), result: "retry" };
  }
  return { outcome: ack, result: "completed" };
}

/** Reads the inputs, runs the provider and stores the image; or says how the job ended instead. */
async function generate(
  delivery: Delivery<GenerationRequested>,
  deps: JobDeps,
): Promise<{ ref: ImageRef } | { done: { outcome: Outcome; result: JobResult } }> {
  const job = delivery.message;
  const images: InputImage[] = [];
  for (const ref of job.inputImages) {
    const store = bucketOf(deps.buckets, ref);
    if (store !== deps.buckets.inputs) {
      return { done: await releaseAndFail(deps, job, "input_missing", USER_MESSAGES.input_missing) };
    }
    try {
      images.push({ bytes: await readImage(store, ref), mimeType: ref.mimeType });
    } catch (error) {
      if (error instanceof ImageUnavailableError) {
        deps.log.warn({ job_id: job.jobId, err: error }, "input image unavailable");
        return { done: await releaseAndFail(deps, job, "input_missing", USER_MESSAGES.input_missing) };
      }
      throw error; // NATS trouble: the consume helper naks and the job comes back
    }
  }
  if (!isOperation(job.operation)) {
    const error = new ProviderError("unsupported_operation", `unknown operation ${job.operation}`);
    return { done: await releaseAndFail(deps, job, error.code, error.userMessage) };
  }
  let image;
  try {
    image = await deps.provider.generate(
      { jobId: job.jobId, operation: job.operation, prompt: job.prompt, images, seed: job.seed },
      delivery.signal,
    );
  } catch (thrown) {
    const error = toProviderError(thrown, deps.provider.name);
    if (error.kind === "transient" && !delivery.isLastDelivery) {
      const delayMs =
        retryDelayMs(
          error,
          delivery.deliveryCount,
          deps.retryBaseMs === undefined ? {} : { baseMs: deps.retryBaseMs },
        ) ?? BILLING_RETRY_DELAY_MS;
      deps.log.info(
        { job_id: job.jobId, code: error.code, delivery: delivery.deliveryCount, retry_in_ms: delayMs },
        "provider failed; retrying",
      );
      return { done: { outcome: nak(delayMs), result: "retry" } };
    }
    deps.log.info({ job_id: job.jobId, code: error.code, err: error.message }, "provider failed for good");
    return { done: await releaseAndFail(deps, job, error.code, error.userMessage) };
  }
  return {
    ref: await putImage(
      deps.buckets.results,
      deps.buckets.names.jobResults,
      job.jobId,
      image.bytes,
      image.mimeType,
    ),
  };
}

/** Returns the hold (credits or the free operation go back) and tells the user why. */
async function releaseAndFail(
  deps: JobDeps,
  job: GenerationRequested,
  code: string,
  message: string,
): Promise<{ outcome: Outcome; result: JobResult }> {
  try {
    await deps.wallet.release({ holdId: job.holdId, reason: formatReleaseReason(code, message) });
  } catch (error) {
    const reason = errorReason(error);
    // Expired or released already: the user was not charged either way.
    if (reason !== "HOLD_EXPIRED" && reason !== "HOLD_ALREADY_VOIDED")
      return retryBilling(deps, job, "Release", error);
  }
  return publishFailure(deps, job, code, message, true);
}

async function publishFailure(
  deps: JobDeps,
  job: GenerationRequested,
  code: string,
  message: string,
  refunded: boolean,
): Promise<{ outcome: Outcome; result: JobResult }> {
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
  });
  try {
    await publishGenerationFailed(deps.js, deps.names, failed);
  } catch (error) {
    deps.log.warn({ job_id: job.jobId, err: error }, "could not publish the failed event; retrying the job");
    return { outcome: nak(BILLING_RETRY_DELAY_MS), result: "retry" };
  }
  return { outcome: ack, result: "failed" };
}

function retryBilling(
  deps: JobDeps,
  job: GenerationRequested,
  call: string,
  error: unknown,
): { outcome: Outcome; result: JobResult } {
  const code = error instanceof ConnectError ? Code[error.code] : undefined;
  deps.log.warn(
    { job_id: job.jobId, hold_id: job.holdId, call, code, reason: errorReason(error), err: error },
    "billing call failed; retrying the job",
  );
  return { outcome: nak(BILLING_RETRY_DELAY_MS), result: "retry" };
}

function invalidJob(job: GenerationRequested): string | undefined {
  if (job.jobId === "" || job.jobId.length > 200) return "job_id must have 1..200 characters";
  if (job.holdId === "") return "hold_id is required";
  if (job.userRef === "") return "user_ref is required";
  if (job.operation === "") return "operation is required";
  if (job.inputImages.length > 8) return "at most 8 input images";
  return undefined;
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
