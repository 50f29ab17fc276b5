// The money effects of payments (metrics and the audit log), built from a payment and its refunds.
// No I/O.
import type { MoneyEffect } from "../observability/effects.js";

/** What an effect reads of a payment (its row or a copy). */
interface EffectPayment {
  readonly id: string;
  readonly userRef: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly creditTransferId?: string | null | undefined;
  readonly requestKey?: string | null | undefined;
}

interface EffectRefund {
  readonly id: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly reverseTransferId?: string | null | undefined;
}

export function paymentEffect(
  kind: "payment_created" | "payment_succeeded" | "payment_canceled",
  payment: EffectPayment,
): MoneyEffect {
  return {
    kind,
    userRef: payment.userRef,
    amount: payment.amountMinor,
    unit: moneyUnitOf(payment.currency),
    paymentId: payment.id,
    transferId: kind === "payment_succeeded" ? (payment.creditTransferId ?? undefined) : undefined,
    idempotencyKey: kind === "payment_created" ? (payment.requestKey ?? undefined) : undefined,
  };
}

/** Telegram Stars (XTR) are counted apart from kopecks. */
function moneyUnitOf(currency: string): "kopecks" | "stars" {
  return currency === "XTR" ? "stars" : "kopecks";
}

export function paymentRefundEffect(payment: EffectPayment, refund: EffectRefund): MoneyEffect {
  return {
    kind: "payment_refunded",
    userRef: payment.userRef,
    amount: refund.amountMinor,
    unit: moneyUnitOf(refund.currency),
    paymentId: payment.id,
    refundId: refund.id,
    transferId: refund.reverseTransferId ?? undefined,
  };
}
