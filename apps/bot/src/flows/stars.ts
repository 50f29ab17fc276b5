// Paying inside Telegram with Stars:
//   1. "⭐ Pay with Stars" shows the Stars packages; a package → CreateTopUp(provider TELEGRAM_STARS,
//      key derived from the update) → billing's invoice is sent (XTR, empty provider token, one price);
//   2. pre_checkout_query → CheckStarsPayment → answerPreCheckoutQuery, always within Telegram's 10 s:
//      billing's refusal becomes a reason in the payer's language, billing down becomes ok:false;
//   3. successful_payment → CompleteStarsPayment, repeated until billing gave a definitive answer. The
//      update is not acknowledged before that (router and transport wait), so a bot restart or a
//      billing outage loses nothing: Telegram delivers it again, billing credits once per charge.
//      A charge billing refuses (PAYMENT_MISMATCH …) is parked as a dead letter and the payer told
//      that support will look. The credit itself is announced by billing.payment.succeeded, as for
//      YooKassa (billing-events.ts).
import { Code, ConnectError, errorReason } from "@billing/client";
import { PaymentProvider } from "@billing/proto/billing/v1/payments_pb";
import { setTimeout as sleep } from "node:timers/promises";
import type { Message, PreCheckoutQuery } from "telegraf/types";
import { type BotContext, deliver, say, type UserScope, userRef } from "../context.js";
import type { Catalogue } from "../i18n/index.js";
import { describeError } from "../telegram/redact.js";
import { TelegramCallError } from "../telegram/types.js";
import { menuRow, starsKeyboard } from "./keyboards.js";

/** Telegram drops an unanswered pre_checkout_query after 10 s; answer with room to spare. */
const PRE_CHECKOUT_BUDGET_MS = 8_000;
/** Billing's share of that budget (its client retries within it). */
const PRE_CHECKOUT_BILLING_MS = 4_000;
const ANSWER_RETRY_MS = 200;
/** Between hand-overs of a successful_payment while billing is down: doubling up to the cap. */
const COMPLETE_RETRY_MIN_MS = 250;
const COMPLETE_RETRY_MAX_MS = 5_000;
const DEAD_LETTER_SUBJECT = "telegram.successful_payment";

/** Thrown when a successful_payment could not be handed to billing before the bot stopped. */
export class UpdateNotAccepted extends Error {
  override readonly name = "UpdateNotAccepted";
}

/** "⭐ Pay with Stars": the Stars packages. */
export async function chooseStars(ctx: BotContext, scope: UserScope): Promise<void> {
  const { t } = scope;
  const options = await ctx.topUpOptions.get();
  const rate = options.starsRate;
  if (options.starsPackages.length === 0 || rate === undefined) {
    say(ctx, scope.chatId, t.balance.paymentsUnavailable, [menuRow(t)]);
    return;
  }
  say(ctx, scope.chatId, t.stars.choose(rate.stars, rate.credits), starsKeyboard(t, options));
}

/** A Stars package: billing's pending payment first, then its invoice. */
export async function buyStars(
  ctx: BotContext,
  scope: UserScope,
  packageCode: string,
  idempotencyKey: string,
): Promise<void> {
  const { t } = scope;
  const request = {
    userRef: userRef(scope.userId),
    provider: PaymentProvider.TELEGRAM_STARS,
    purchase: { case: "packageCode" as const, value: packageCode },
    idempotencyKey,
  };
  let created;
  try {
    created = await ctx.billing.payments.createTopUp(request).catch(async (error: unknown) => {
      // A user who never sent /start gets an account first.
      if (errorReason(error) !== "ACCOUNT_NOT_FOUND") throw error;
      await ctx.billing.wallet.openAccount({ userRef: request.userRef });
      return ctx.billing.payments.createTopUp(request);
    });
  } catch (error) {
    const code = error instanceof ConnectError ? error.code : undefined;
    ctx.log.warn({ user_id: scope.userId, reason: errorReason(error) }, "CreateTopUp (Stars) failed");
    const unavailable = code === Code.Unavailable || code === Code.DeadlineExceeded;
    say(ctx, scope.chatId, unavailable ? t.topUp.unavailable : t.topUp.rejected, [menuRow(t)]);
    return;
  }
  const invoice = created.starsInvoice;
  if (invoice === undefined) {
    // A replay of a key whose payment is no longer pending (paid or expired): nothing to pay.
    say(ctx, scope.chatId, t.stars.declined.stale, [menuRow(t)]);
    return;
  }
  ctx.metrics.topUpsCreated.inc();
  void ctx.sendQueue.enqueue({
    kind: "invoice",
    chatId: scope.chatId,
    title: invoice.title,
    description: invoice.description,
    payload: invoice.payload,
    currency: "XTR",
    label: invoice.label,
    amount: invoice.amount,
  });
}

/** pre_checkout_query: asks billing, then answers Telegram before its deadline, whatever happened. */
export async function answerPreCheckout(
  ctx: BotContext,
  t: Catalogue,
  query: PreCheckoutQuery,
): Promise<void> {
  const deadline = Date.now() + PRE_CHECKOUT_BUDGET_MS;
  let answer: { ok: true } | { ok: false; errorMessage: string };
  let outcome: "ok" | "declined" | "unavailable";
  try {
    await ctx.billing.payments.checkStarsPayment(
      {
        userRef: userRef(query.from.id),
        invoicePayload: query.invoice_payload,
        currency: query.currency,
        totalAmount: BigInt(query.total_amount),
      },
      { timeoutMs: PRE_CHECKOUT_BILLING_MS },
    );
    answer = { ok: true };
    outcome = "ok";
  } catch (error) {
    const reason = errorReason(error);
    const refused =
      reason === "PAYMENT_STATE" || reason === "PAYMENT_MISMATCH" || reason === "PAYMENT_NOT_FOUND";
    outcome = refused ? "declined" : "unavailable";
    const errorMessage = !refused
      ? t.stars.declined.unavailable
      : reason === "PAYMENT_STATE"
        ? t.stars.declined.stale
        : t.stars.declined.mismatch;
    answer = { ok: false, errorMessage };
    ctx.log.warn(
      { query_id: query.id, reason: reason ?? describeError(error, ctx.redact) },
      "pre-checkout refused",
    );
  }
  const answered = await answerWithin(ctx, query.id, answer, deadline);
  ctx.metrics.preCheckouts.inc({ outcome: answered ? outcome : "failed" });
}

/** answerPreCheckoutQuery, retried on 429 and 5xx while the deadline allows. */
async function answerWithin(
  ctx: BotContext,
  queryId: string,
  answer: { ok: true } | { ok: false; errorMessage: string },
  deadline: number,
): Promise<boolean> {
  for (;;) {
    try {
      await ctx.api.answerPreCheckout(queryId, answer);
      return true;
    } catch (error) {
      const failure = error instanceof TelegramCallError ? error.failure : undefined;
      const waitMs =
        failure?.kind === "rate_limited"
          ? failure.retryAfterMs
          : failure?.kind === "transient"
            ? ANSWER_RETRY_MS
            : undefined;
      if (waitMs === undefined || Date.now() + waitMs >= deadline) {
        ctx.log.error(
          { query_id: queryId, error: describeError(error, ctx.redact) },
          "pre-checkout not answered in time",
        );
        return false;
      }
      await sleep(waitMs);
    }
  }
}

/**
 * successful_payment: handed to billing until it answers definitively; resolves then (the update may
 * be acknowledged), throws UpdateNotAccepted when `stopping` fires first (it must not be).
 */
export async function completeStars(
  ctx: BotContext,
  scope: UserScope,
  message: Message.SuccessfulPaymentMessage,
  stopping: AbortSignal,
): Promise<void> {
  const paid = message.successful_payment;
  const request = {
    userRef: userRef(scope.userId),
    invoicePayload: paid.invoice_payload,
    currency: paid.currency,
    totalAmount: BigInt(paid.total_amount),
    telegramPaymentChargeId: paid.telegram_payment_charge_id,
    providerPaymentChargeId: paid.provider_payment_charge_id,
  };
  for (let attempt = 1; ; attempt++) {
    if (stopping.aborted) throw new UpdateNotAccepted("the bot stopped before billing accepted the payment");
    try {
      await ctx.billing.payments.completeStarsPayment(request, { signal: stopping });
      ctx.metrics.starsPayments.inc({ outcome: "accepted" });
      return;
    } catch (error) {
      if (isDefinitiveRefusal(error)) return rejected(ctx, scope, message, error, stopping);
      ctx.metrics.starsPayments.inc({ outcome: "retried" });
      ctx.log.warn(
        { charge_id: paid.telegram_payment_charge_id, attempt, error: describeError(error, ctx.redact) },
        "billing did not accept a Stars payment yet; the update stays unacknowledged and is handed over again",
      );
      const delayMs = Math.min(COMPLETE_RETRY_MAX_MS, COMPLETE_RETRY_MIN_MS * 2 ** Math.min(attempt - 1, 5));
      await sleep(delayMs, undefined, { signal: stopping }).catch(() => undefined);
    }
  }
}

/** Billing answered and will answer the same again: a refusal, not an outage. */
function isDefinitiveRefusal(error: unknown): boolean {
  if (!(error instanceof ConnectError)) return false;
  return [Code.FailedPrecondition, Code.InvalidArgument, Code.AlreadyExists, Code.NotFound].includes(
    error.code,
  );
}

/** Nothing was credited: park the update for operators, tell the payer support will look. */
async function rejected(
  ctx: BotContext,
  scope: UserScope,
  message: Message.SuccessfulPaymentMessage,
  error: unknown,
  stopping: AbortSignal,
): Promise<void> {
  const paid = message.successful_payment;
  const letter = {
    id: `stars-${paid.telegram_payment_charge_id}`.slice(0, 200),
    subject: DEAD_LETTER_SUBJECT,
    reason: (errorReason(error) ?? "rejected_by_billing").toLowerCase(),
    detail: `user ${scope.userId}: ${String(describeError(error, ctx.redact)["message"])}`,
    payload: new TextEncoder().encode(JSON.stringify(message)),
  };
  // The dead letter is the only record of stars billing did not credit: it must be stored before
  // the update is acknowledged.
  for (let attempt = 1; ; attempt++) {
    if (stopping.aborted) throw new UpdateNotAccepted("the bot stopped before the payment was parked");
    try {
      await ctx.jobs.deadLetter(letter);
      break;
    } catch (parkError) {
      ctx.log.warn(
        { attempt, error: describeError(parkError, ctx.redact) },
        "could not park a Stars payment yet",
      );
      await sleep(
        Math.min(COMPLETE_RETRY_MAX_MS, COMPLETE_RETRY_MIN_MS * 2 ** Math.min(attempt, 5)),
        undefined,
        {
          signal: stopping,
        },
      ).catch(() => undefined);
    }
  }
  ctx.metrics.starsPayments.inc({ outcome: "rejected" });
  ctx.log.error(
    { charge_id: paid.telegram_payment_charge_id, user_id: scope.userId, reason: letter.reason },
    "STARS PAYMENT REJECTED by billing: parked as a dead letter; support must look",
  );
  void deliver(ctx, scope.chatId, scope.t.stars.support, [menuRow(scope.t)]);
}
