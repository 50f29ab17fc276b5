// A paid operation, once its input is complete: Reserve (key from the update; a replayed one is checked
// against the hold's current state) → the user's photos into the inputs object store → "sending a
// photo…" (a chat action) → jobs.generation.requested. The worker commits or releases the hold;
// results.ts tells the user. Anything that fails after the reservation releases it, so the user never
// pays for a job that was not queued.
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { errorReason, insufficientFunds } from "@billing/client";
import { type Hold, HoldState, type ReserveResponse } from "@billing/proto/billing/v1/wallet_pb";
import { GenerationRequestedSchema, type ImageRef } from "@billing/proto/events/v1/jobs_pb";
import { type BotContext, say, type UserScope, userRef } from "../context.js";
import type { Operation } from "../operations.js";
import { TelegramCallError } from "../telegram/types.js";
import type { PhotoInput } from "./conversation.js";
import { repeatable } from "../idempotent.js";
import { jobIdOf, seedOf } from "./keys.js";
import { menuRow, topUpButton } from "./keyboards.js";

export type JobInputs =
  /** Photos still at Telegram (a new request). */
  | { readonly kind: "telegram"; readonly photos: readonly PhotoInput[] }
  /** Photos already in the inputs store ("again"). */
  | { readonly kind: "stored"; readonly refs: readonly ImageRef[] };

export interface GenerationRequest {
  readonly operation: Operation;
  readonly inputs: JobInputs;
  readonly text: string;
  readonly idempotencyKey: string;
}

export type Submitted = "started" | "duplicate" | "refused" | "failed";

export async function submitGeneration(
  ctx: BotContext,
  scope: UserScope,
  request: GenerationRequest,
): Promise<Submitted> {
  const { t } = scope;
  const jobId = jobIdOf(request.idempotencyKey);
  if (ctx.memory.startedJobs.has(jobId)) return "duplicate";
  const ref = userRef(scope.userId);

  let reserved: ReserveResponse;
  const reserveStartedMs = Date.now();
  try {
    reserved = await reserve(ctx, {
      userRef: ref,
      operation: request.operation,
      idempotencyKey: request.idempotencyKey,
      timeout: durationFromMs(ctx.config.limits.holdTimeoutMs),
      jobId,
    });
  } catch (error) {
    if (errorReason(error) !== "INSUFFICIENT_FUNDS") throw error;
    const detail = insufficientFunds(error);
    const price = detail?.priceCredits ?? (await priceOf(ctx, request.operation));
    ctx.metrics.insufficientFunds.inc({ operation: request.operation });
    say(
      ctx,
      scope.chatId,
      t.funds.insufficient(t.operation[request.operation], price, detail?.creditsAvailable ?? 0n),
      topUpButton(t),
    );
    return "refused";
  }
  const hold = await currentHold(ctx, reserved, reserveStartedMs);
  if (hold.state !== HoldState.PENDING) {
    // A replay of a reservation whose job already ended (the update came back long after): done.
    ctx.log.info(
      { job_id: jobId, hold_id: hold.holdId, state: HoldState[hold.state] },
      "reservation replayed; its job has ended",
    );
    ctx.memory.startedJobs.add(jobId);
    return "duplicate";
  }
  ctx.memory.startedJobs.add(jobId);

  let refs: ImageRef[];
  try {
    refs =
      request.inputs.kind === "stored"
        ? [...request.inputs.refs]
        : await storePhotos(ctx, jobId, request.inputs.photos);
  } catch (error) {
    const problem = error instanceof InputProblem ? error.problem : "unavailable";
    ctx.log.warn(
      { job_id: jobId, problem, error: describe(ctx, error) },
      "could not take the user's photos; releasing the hold",
    );
    await release(ctx, hold.holdId, `input_${problem}`);
    const message =
      problem === "too_large"
        ? t.invalid.photoTooLarge(ctx.config.limits.maxPhotoBytes)
        : problem === "not_image"
          ? t.invalid.notAnImage
          : t.invalid.photoUnavailable;
    say(ctx, scope.chatId, message, [menuRow(t)]);
    return "failed";
  }

  // "Sending a photo…" instead of a message: the result itself is the next message in the chat, and
  // the send budget (1/s per chat, 30/s overall) goes to what the user waits for.
  void ctx.signals.chatAction(scope.chatId, "upload_photo");
  const job = create(GenerationRequestedSchema, {
    jobId,
    userRef: ref,
    operation: request.operation,
    holdId: hold.holdId,
    prompt: request.text,
    inputImages: refs,
    chatId: BigInt(scope.chatId),
    locale: scope.locale,
    requestedAt: timestampNow(),
    seed: seedOf(jobId),
    // The worker does not start a job that cannot finish before its hold expires.
    ...(hold.expiresAt === undefined ? {} : { holdExpiresAt: hold.expiresAt }),
  });
  try {
    await ctx.jobs.publish(job);
  } catch (error) {
    ctx.log.error(
      { job_id: jobId, error: describe(ctx, error) },
      "could not publish the job; releasing the hold",
    );
    await release(ctx, hold.holdId, "publish_failed");
    say(ctx, scope.chatId, t.error.unavailable, [menuRow(t)]);
    return "failed";
  }
  ctx.memory.recentJobs.set(jobId, {
    userId: scope.userId,
    operation: request.operation,
    text: request.text,
    inputs: refs,
  });
  ctx.metrics.jobsRequested.inc({ operation: request.operation });
  ctx.log.info(
    { job_id: jobId, hold_id: hold.holdId, operation: request.operation, user_id: scope.userId },
    "job requested",
  );
  return "started";
}

/** "🔁 Again" under a result: the same operation on the same inputs, a new reservation. */
export async function repeatJob(
  ctx: BotContext,
  scope: UserScope,
  jobId: string,
  idempotencyKey: string,
): Promise<Submitted> {
  const recent = ctx.memory.recentJobs.get(jobId);
  if (recent === undefined || recent.userId !== scope.userId) {
    say(ctx, scope.chatId, scope.t.job.buttonExpired, [menuRow(scope.t)]);
    return "failed";
  }
  return submitGeneration(ctx, scope, {
    operation: recent.operation,
    inputs: { kind: "stored", refs: recent.inputs },
    text: recent.text,
    idempotencyKey,
  });
}

class InputProblem extends Error {
  override readonly name = "InputProblem";
  constructor(readonly problem: "too_large" | "not_image") {
    super(problem);
  }
}

/** Attempts of getFile and of a download when Telegram answers 429/5xx or the connection fails. */
const FETCH_ATTEMPTS = 3;

/** getFile → download (bounded) → the inputs object store, in order. */
async function storePhotos(
  ctx: BotContext,
  jobId: string,
  photos: readonly PhotoInput[],
): Promise<ImageRef[]> {
  const maxBytes = ctx.config.limits.maxPhotoBytes;
  const refs: ImageRef[] = [];
  for (const [index, photo] of photos.entries()) {
    const file = await retrying(() => ctx.api.getFile(photo.fileId));
    if (file.sizeBytes !== undefined && file.sizeBytes > maxBytes) throw new InputProblem("too_large");
    let bytes: Uint8Array;
    try {
      bytes = await retrying(() => ctx.api.download(file.filePath, maxBytes));
    } catch (error) {
      if (error instanceof TelegramCallError && error.failure.kind === "too_large")
        throw new InputProblem("too_large");
      throw error;
    }
    const mimeType = imageMimeType(bytes);
    if (mimeType === undefined) throw new InputProblem("not_image");
    refs.push(await ctx.jobs.putInput(jobId, index, bytes, mimeType));
  }
  return refs;
}

async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const failure = error instanceof TelegramCallError ? error.failure : undefined;
      const retryable = failure?.kind === "transient" || failure?.kind === "rate_limited";
      if (!retryable || attempt >= FETCH_ATTEMPTS) throw error;
      const waitMs =
        failure.kind === "rate_limited" ? Math.min(failure.retryAfterMs, 5_000) : 200 * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** The type by the bytes' signature: Telegram photos are JPEG; documents may claim anything. */
export function imageMimeType(bytes: Uint8Array): "image/png" | "image/jpeg" | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return "image/png";
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  return undefined;
}

/**
 * A hold created this long before our Reserve call is a replay (billing answers the stored original,
 * always PENDING): its current state is read back. Far below JetStream's dedupe window (10 min), so a
 * younger replay is still deduplicated by the stream; far above the clock skew of NTP-synced hosts.
 */
export const REPLAY_AGE_MS = 2_000;

/** The hold as it is now: Reserve's answer for a new hold, GetHold's for a replayed one. */
async function currentHold(ctx: BotContext, reserved: ReserveResponse, callStartedMs: number): Promise<Hold> {
  const hold = reserved.hold;
  if (hold === undefined) throw new Error("Reserve answered without a hold");
  const createdMs = hold.createdAt === undefined ? callStartedMs : timestampMs(hold.createdAt);
  if (createdMs >= callStartedMs - REPLAY_AGE_MS) return hold;
  const current = (await repeatable(() => ctx.billing.wallet.getHold({ holdId: hold.holdId }))).hold;
  if (current === undefined) throw new Error("GetHold answered without a hold");
  return current;
}

/** Reserve; a user who never sent /start (no account yet) gets the account first. */
async function reserve(ctx: BotContext, request: Parameters<BotContext["billing"]["wallet"]["reserve"]>[0]) {
  const wallet = ctx.billing.wallet;
  try {
    return await repeatable(() => wallet.reserve(request));
  } catch (error) {
    const userRef = request.userRef;
    if (errorReason(error) !== "ACCOUNT_NOT_FOUND" || userRef === undefined) throw error;
    await repeatable(() => wallet.openAccount({ userRef }));
    return await repeatable(() => wallet.reserve(request));
  }
}

async function release(ctx: BotContext, holdId: string, reason: string): Promise<void> {
  try {
    await ctx.billing.wallet.release({ holdId, reason });
  } catch (error) {
    // The hold expires by itself (BOT_HOLD_TIMEOUT_MS) and billing announces it: the user gets it back.
    ctx.log.error(
      { hold_id: holdId, reason: errorReason(error), error: describe(ctx, error) },
      "release failed; the hold will expire",
    );
  }
}

async function priceOf(ctx: BotContext, operation: Operation): Promise<bigint> {
  const prices = await ctx.prices.get();
  return prices.prices.find((p) => p.operation === operation)?.priceCredits ?? 0n;
}

function describe(ctx: BotContext, error: unknown): string {
  return ctx.redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);
}
