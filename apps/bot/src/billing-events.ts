// Billing's events that a user should hear about: a payment credited or canceled, a hold that expired
// because its job never finished, credits running low (once per crossing, only to users who have
// topped up before). The chat is the user's (user_ref "telegram:<id>"); other users'
// events (internal services) are not ours and are acked untouched. Each event is handled once per
// process (by event id); the consumer acks only after the message is with Telegram.
import type { BillingEvent } from "@billing/proto/events/v1/billing_pb";
import { type BotContext, deliver, telegramUserId } from "./context.js";
import { menuRow, topUpButton } from "./flows/keyboards.js";
import { catalogue } from "./i18n/index.js";
import { onHoldExpired, type Settle, settleOnly } from "./results.js";

export async function onBillingEvent(ctx: BotContext, event: BillingEvent): Promise<Settle> {
  const kind = event.payload.case ?? "unknown";
  const userId = telegramUserId(event.userRef);
  if (userId === undefined || ctx.memory.seenEvents.has(event.eventId)) return "ack";
  const t = catalogue(ctx.memory.locales.get(userId) ?? ctx.config.defaultLocale);
  let outcome: Settle = "ack";
  switch (event.payload.case) {
    case "paymentSucceeded": {
      const paid = event.payload.value;
      const text =
        paid.planCode !== "" && paid.credits === 0n
          ? t.topUp.planActivated
          : t.topUp.succeeded(paid.credits, paid.creditsAvailable);
      outcome = settleOnly(await deliver(ctx, userId, text, [menuRow(t)]));
      break;
    }
    case "paymentCanceled": {
      const canceled = event.payload.value;
      const reasons: Readonly<Record<string, string>> = t.topUp.cancelReason;
      const reason = reasons[canceled.cancellationReason] ?? t.topUp.cancelReason.other;
      outcome = settleOnly(
        await deliver(ctx, userId, t.topUp.canceled(canceled.amountMinor, reason), topUpButton(t)),
      );
      break;
    }
    case "holdExpired":
      outcome = await onHoldExpired(ctx, userId, event.payload.value);
      break;
    case "balanceLow": {
      // Billing announces each downward crossing once; a user who never paid is not asked to pay.
      const low = event.payload.value;
      if (!low.toppedUp) return "ack";
      outcome = settleOnly(await deliver(ctx, userId, t.balance.low(low.creditsAvailable), topUpButton(t)));
      break;
    }
    default:
      // Balance changes, refunds, plan activations: nothing to tell in the chat.
      return "ack";
  }
  if (outcome === "ack") {
    ctx.memory.seenEvents.add(event.eventId);
    ctx.metrics.billingEvents.inc({ kind });
  }
  return outcome;
}
