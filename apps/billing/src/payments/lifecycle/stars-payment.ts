// A Telegram Stars payment in the one lifecycle. Telegram pushes what a YooKassa payment is read
// for: the bot hands billing the pre_checkout_query (checked, nothing written) and then the
// successful_payment, which moves the payment pending → succeeded and credits it through the same
// credit() as YooKassa's, once, under a key derived from telegram_payment_charge_id. A payment nobody
// paid before its invoice expired is canceled by the sweep; a payment Telegram then reports paid
// still credits (billing's own cancellation gives way, as for YooKassa).
import { derivedKey, runCommands } from "../../commands/index.js";
import type { PaymentsContext } from "../context.js";
import {
  BILLING_PARTY,
  isStarsInvoiceExpired,
  paymentNotFound,
  preCheckoutRefusal,
  STARS_EXPIRED_REASON,
  starsMismatch,
  starsMismatchesOf,
  transitionOf,
} from "../rules.js";
import type { PaymentRow, PaymentsTx } from "../store/store.js";
import { viewOf } from "../store/views.js";
import type { PaymentView, StarsChargeCommand } from "../types.js";
import { credit, settleCanceled } from "./payment-subject.js";
import type { Settled } from "./subject.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** pre_checkout_query: the payment if Telegram may take the money, else the refusal thrown. */
export async function checkStarsPayment(
  context: PaymentsContext,
  order: { userRef: string; invoicePayload: string; currency: string; totalAmount: bigint },
): Promise<PaymentView> {
  if (!UUID.test(order.invoicePayload)) throw paymentNotFound(order.invoicePayload);
  const payment = await context.store.payment(order.invoicePayload);
  const refusal = preCheckoutRefusal(payment, order, context.clock.now(), context.config.stars);
  if (refusal !== undefined) throw refusal;
  return viewOf(payment);
}

/**
 * successful_payment: credits the payment its payload names, once per charge. A charge that matches
 * no payment of this user, or another amount or currency, or a payment already paid by another
 * charge, moves nothing: PAYMENT_MISMATCH, counted for the operators' alert.
 */
export async function completeStarsPayment(
  context: PaymentsContext,
  charge: StarsChargeCommand,
): Promise<Settled<PaymentView>> {
  const spec = {
    name: "CompleteStarsPayment",
    key: derivedKey("stars:charge", charge.telegramPaymentChargeId),
    request: charge,
  };
  const [outcome] = await context.store.transaction(async (tx) =>
    runCommands(tx.answerBook(context.clock.now()), [spec], () => applyCharge(context, tx, charge)),
  );
  if (outcome === undefined) throw new Error("payments invariant: a command without an outcome");
  if (!outcome.ok) {
    if (outcome.error.reason === "PAYMENT_MISMATCH") {
      context.store.countMismatch();
      context.log.error(
        {
          charge_id: charge.telegramPaymentChargeId,
          payload: charge.invoicePayload,
          error: outcome.error.message,
        },
        "STARS PAYMENT MISMATCH: Telegram took stars billing cannot credit; nothing moved, operators must look",
      );
    }
    throw outcome.error;
  }
  const payment = await context.store.payment(outcome.value.paymentId);
  return { outcome: outcome.replayed ? "UNCHANGED" : "APPLIED", view: viewOf(payment) };
}

/** Under the payment's lock: checks the charge against it, then succeeds and credits it. */
async function applyCharge(
  context: PaymentsContext,
  tx: PaymentsTx,
  charge: StarsChargeCommand,
): Promise<{ paymentId: string }> {
  const id = charge.invoicePayload;
  if (!UUID.test(id)) throw starsMismatch(id, ["the invoice payload names no payment of billing's"]);
  const payment = await tx.lockPaymentIfAny(id);
  if (payment === null) throw starsMismatch(id, ["the invoice payload names no payment of billing's"]);
  const problems = starsMismatchesOf(payment, charge);
  const move = transitionOf(payment.status, "SUCCEEDED", {
    canceledByBilling: payment.cancellationParty === BILLING_PARTY,
  });
  if (move !== "advance")
    problems.push(
      `payment ${payment.id} is ${payment.status} (charge ${payment.providerPaymentId ?? "none"})`,
    );
  if (problems.length > 0) throw starsMismatch(payment.id, problems);
  const now = context.clock.now();
  payment.providerPaymentId = charge.telegramPaymentChargeId;
  payment.test = false;
  payment.status = "SUCCEEDED";
  payment.updatedAt = now;
  await credit(context, tx, payment, now);
  return { paymentId: payment.id };
}

/** The sweep's step for a Stars payment: cancel it once its invoice has expired unpaid. */
export async function expireStarsPayment(
  context: PaymentsContext,
  row: PaymentRow,
): Promise<Settled<PaymentView>> {
  return context.store.transaction(async (tx) => {
    const payment = await tx.lockPayment(row.id);
    const now = context.clock.now();
    if (payment.status !== "PENDING" || !isStarsInvoiceExpired(payment, now, context.config.stars))
      return { outcome: "UNCHANGED", view: viewOf(payment) };
    settleCanceled(tx, payment, BILLING_PARTY, STARS_EXPIRED_REASON, now);
    return { outcome: "APPLIED", view: viewOf(payment) };
  });
}
