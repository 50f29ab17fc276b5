// Telling users how their jobs ended: the picture with what it cost and what is left, or what went
// wrong and what came back. Called by the results consumer (at least once per event): each job is
// told once per process (notifiedJobs), and a message is acked only once Telegram has it — or once it
// can never have it (the user blocked the bot).
import { FundingSource } from "@billing/proto/billing/v1/wallet_pb";
import type { GenerationCompleted, GenerationFailed } from "@billing/proto/events/v1/jobs_pb";
import type { HoldExpired } from "@billing/proto/events/v1/billing_pb";
import type { BoundedSet } from "./bounded.js";
import { type BotContext, deliver } from "./context.js";
import { callbackData, menuRow } from "./flows/keyboards.js";
import { type Catalogue, catalogue, type Cost, isLocale, type Locale, type Returned } from "./i18n/index.js";
import { isOperation } from "./operations.js";
import type { SendResult } from "./telegram/send-queue.js";
import type { InlineKeyboard } from "./telegram/types.js";

/** What the consumer does with the event: ack it, or have it delivered again later. */
export type Settle = "ack" | "retry";

/** Reason codes after which the same request would fail the same way: no "again" button. */
const HOPELESS = new Set([
  "invalid_input",
  "input_missing",
  "content_rejected",
  "unsupported_operation",
  "hold_mismatch",
]);

export function onCompleted(ctx: BotContext, event: GenerationCompleted): Promise<Settle> {
  return once(ctx, event.jobId, () => deliverResult(ctx, event));
}

async function deliverResult(ctx: BotContext, event: GenerationCompleted): Promise<Settle> {
  const chatId = Number(event.chatId);
  const t = catalogue(localeOfEvent(ctx, event.locale));
  const operation = operationName(t, event.operation);
  const ref = event.result;
  const bytes = ref === undefined ? undefined : await ctx.jobs.readResult(ref);
  if (bytes === undefined) {
    ctx.log.error({ job_id: event.jobId }, "result image missing from the results store");
    return settleOnly(await deliver(ctx, chatId, t.job.resultUnavailable, [menuRow(t)]));
  }
  const cost: Cost =
    event.chargedFreeOperations > 0n
      ? { kind: "free_operation" }
      : event.chargedCredits > 0n
        ? { kind: "credits", credits: event.chargedCredits }
        : { kind: "nothing" };
  const keyboard: InlineKeyboard = [
    [{ text: t.button.again, callbackData: callbackData.again(event.jobId) }, ...menuRow(t)],
  ];
  const sent = await ctx.sendQueue.enqueue(
    {
      kind: "photo",
      chatId,
      photo: bytes,
      fileName: `${event.jobId}.${ref?.mimeType === "image/jpeg" ? "jpg" : "png"}`,
      caption: t.job.done(operation, cost, event.creditsAvailable, event.freeOperationsAvailable),
      keyboard,
    },
    "high",
  );
  if (sent.status === "dropped" && sent.reason === "rejected") {
    // Telegram refused the picture itself: say so rather than stay silent about a paid job.
    await deliver(ctx, chatId, t.job.resultUnavailable, [menuRow(t)]);
  }
  const outcome = settleOnly(sent);
  if (outcome === "ack") ctx.metrics.jobsCompleted.inc({ operation: event.operation });
  return outcome;
}

export function onFailed(ctx: BotContext, event: GenerationFailed): Promise<Settle> {
  return once(ctx, event.jobId, () => tellFailure(ctx, event));
}

async function tellFailure(ctx: BotContext, event: GenerationFailed): Promise<Settle> {
  const locale = localeOfEvent(ctx, event.locale);
  const t = catalogue(locale);
  const returned: Returned = !event.refunded
    ? { kind: "nothing" }
    : event.returned !== undefined
      ? returnedOf(event.returned.credits, event.returned.freeOperations)
      : await returnedBy(ctx, event.holdId);
  const reasons: Readonly<Record<string, string>> = t.job.failureReason;
  const reason =
    reasons[event.reasonCode] ??
    (locale === "en" && event.reasonMessage !== "" ? event.reasonMessage : t.job.failureReason.other);
  const keyboard: InlineKeyboard =
    HOPELESS.has(event.reasonCode) || !ctx.memory.recentJobs.has(event.jobId)
      ? [menuRow(t)]
      : [[{ text: t.button.again, callbackData: callbackData.again(event.jobId) }, ...menuRow(t)]];
  const sent = await deliver(
    ctx,
    Number(event.chatId),
    t.job.failed(operationName(t, event.operation), reason, returned),
    keyboard,
  );
  const outcome = settleOnly(sent);
  if (outcome === "ack")
    ctx.metrics.jobsFailed.inc({ operation: event.operation, refunded: String(event.refunded) });
  return outcome;
}

/** billing.hold.expired: the job never finished (a worker died, the queue was stuck). */
export function onHoldExpired(ctx: BotContext, userId: number, expired: HoldExpired): Promise<Settle> {
  const tell = async (): Promise<Settle> => {
    const t = catalogue(ctx.memory.locales.get(userId) ?? ctx.config.defaultLocale);
    const returned = returnedOf(expired.amountCredits, expired.amountFreeOperations);
    // In a private chat the chat id is the user id.
    const text = t.job.holdExpired(operationName(t, expired.operation), returned);
    return settleOnly(await deliver(ctx, userId, text, [menuRow(t)]));
  };
  return expired.jobId === "" ? tell() : once(ctx, expired.jobId, tell);
}

/** What went back, from the amounts an event carries. */
function returnedOf(credits: bigint, freeOperations: bigint): Returned {
  if (credits > 0n) return { kind: "credits", credits };
  return freeOperations > 0n ? { kind: "free_operation" } : { kind: "nothing" };
}

/** What a released hold gave back, as billing recorded it (the event did not say). */
async function returnedBy(ctx: BotContext, holdId: string): Promise<Returned> {
  try {
    const { hold } = await ctx.billing.wallet.getHold({ holdId });
    switch (hold?.fundedBy) {
      case FundingSource.CREDITS:
        return { kind: "credits", credits: hold.amountCredits };
      case FundingSource.FREE_OPERATION:
        return { kind: "free_operation" };
      case FundingSource.NONE:
        return { kind: "nothing" };
      default:
        return { kind: "payment" };
    }
  } catch (error) {
    ctx.log.warn(
      { hold_id: holdId, error: ctx.redact(String(error)) },
      "GetHold failed; telling the user in general terms",
    );
    return { kind: "payment" };
  }
}

/**
 * Tells the user about a job once: a failure published by the worker and billing's hold.expired for
 * the same job arrive on two consumers at once, and only the first to claim the job speaks.
 */
function once(ctx: BotContext, jobId: string, tell: () => Promise<Settle>): Promise<Settle> {
  return claimOnce(ctx.memory.notifiedJobs, jobId, tell);
}

/**
 * Runs `tell` for the first caller to claim `key` ("ack" for the others, at once). The claim is taken
 * before `tell` starts, so two deliveries in flight together cannot both speak, and given back when the
 * message could not go out (or `tell` threw), so the redelivery can.
 */
export async function claimOnce(
  claims: BoundedSet<string>,
  key: string,
  tell: () => Promise<Settle>,
): Promise<Settle> {
  if (!claims.addIfAbsent(key)) return "ack";
  let outcome: Settle = "retry";
  try {
    outcome = await tell();
    return outcome;
  } finally {
    if (outcome === "retry") claims.delete(key);
  }
}

/** Delivered, or undeliverable for good (blocked, refused): ack. Shutdown or a full queue: later. */
export function settleOnly(sent: SendResult): Settle {
  if (sent.status === "sent") return "ack";
  return sent.reason === "blocked" || sent.reason === "rejected" ? "ack" : "retry";
}

function localeOfEvent(ctx: BotContext, locale: string): Locale {
  return isLocale(locale) ? locale : ctx.config.defaultLocale;
}

function operationName(t: Catalogue, operation: string): string {
  return isOperation(operation) ? t.operation[operation] : operation;
}
