// Billing's events that a user should hear about: a payment credited or canceled, a hold that expired
// because its job never finished, credits running low (once per crossing, only to users who have
// topped up before), promo credits granted, promo credits about to expire. The chat is the user's
// (user_ref "telegram:<id>"); other users' events (internal services) are not ours and are acked
// untouched. Each event is told once per process (claimed by event id); the consumer acks only after
// the message is with Telegram.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { BillingEvent } from "@billing/proto/events/v1/billing_pb";
import { type BotContext, deliver, telegramUserId } from "./context.js";
import { menuRow, topUpButton, usePromoKeyboard } from "./flows/keyboards.js";
import { formatDeadline } from "./i18n/dates.js";
import { catalogue, type Locale } from "./i18n/index.js";
import { claimOnce, onHoldExpired, type Settle, settleOnly } from "./results.js";
import type { InlineKeyboard } from "./telegram/types.js";

export async function onBillingEvent(ctx: BotContext, event: BillingEvent): Promise<Settle> {
  const userId = telegramUserId(event.userRef);
  const tell = userId === undefined ? undefined : telling(ctx, userId, event);
  if (tell === undefined) return "ack";
  // Claimed before telling: the same event twice in flight (a redelivery beside the original) speaks once.
  return claimOnce(ctx.memory.seenEvents, event.eventId, async () => {
    const outcome = await tell();
    if (outcome === "ack") ctx.metrics.billingEvents.inc({ kind: event.payload.case ?? "unknown" });
    return outcome;
  });
}

/** How to tell the user about the event; undefined when there is nothing to tell. */
function telling(ctx: BotContext, userId: number, event: BillingEvent): (() => Promise<Settle>) | undefined {
  const locale = ctx.memory.locales.get(userId) ?? ctx.config.defaultLocale;
  const t = catalogue(locale);
  const send = (text: string, keyboard: InlineKeyboard) => async () =>
    settleOnly(await deliver(ctx, userId, text, keyboard));
  switch (event.payload.case) {
    case "paymentSucceeded": {
      const paid = event.payload.value;
      const text =
        paid.planCode !== "" && paid.credits === 0n
          ? t.topUp.planActivated
          : t.topUp.succeeded(paid.credits, paid.creditsAvailable);
      return send(text, [menuRow(t)]);
    }
    case "paymentCanceled": {
      const canceled = event.payload.value;
      const reasons: Readonly<Record<string, string>> = t.topUp.cancelReason;
      const reason = reasons[canceled.cancellationReason] ?? t.topUp.cancelReason.other;
      return send(t.topUp.canceled(canceled.amountMinor, reason), topUpButton(t));
    }
    case "holdExpired": {
      const expired = event.payload.value;
      return () => onHoldExpired(ctx, userId, expired);
    }
    case "balanceLow": {
      // Billing announces each downward crossing once; a user who never paid is not asked to pay.
      const low = event.payload.value;
      return low.toppedUp ? send(t.balance.low(low.creditsAvailable), topUpButton(t)) : undefined;
    }
    case "promoGranted":
    case "creditsExpiring": {
      const text = promoText(ctx, locale, event.eventId, event.payload);
      return text === undefined ? undefined : send(text, usePromoKeyboard(t));
    }
    case "creditsExpired":
      // Told nothing on purpose: credits.expiring warned a day ahead, and the statement shows the
      // CREDITS_EXPIRED entry. A message would also arrive for value returned to a lot that had
      // expired meanwhile (a refund), where "your credits expired" reads as a second loss. The
      // consumer takes every billing.> subject, so this is acked like the kinds below.
      return undefined;
    default:
      // Balance changes, refunds, plan activations: nothing to tell in the chat.
      return undefined;
  }
}

/**
 * A promo lot arrived, or (billing.credits.expiring, once per lot) less than a day is left on one with
 * credits remaining. Undefined for an event without its expiry, which billing never writes: logged and
 * acked rather than told without the date that is the point of it.
 */
function promoText(
  ctx: BotContext,
  locale: Locale,
  eventId: string,
  payload: Extract<BillingEvent["payload"], { case: "promoGranted" | "creditsExpiring" }>,
): string | undefined {
  const { amountCredits, expiresAt } = payload.value;
  if (expiresAt === undefined) {
    ctx.log.warn({ event_id: eventId, kind: payload.case }, "promo event without expires_at");
    return undefined;
  }
  const t = catalogue(locale);
  const at = formatDeadline(timestampDate(expiresAt), locale, ctx.config.timeZone);
  return payload.case === "promoGranted"
    ? t.promo.granted(amountCredits, at)
    : t.promo.expiring(amountCredits, at);
}
