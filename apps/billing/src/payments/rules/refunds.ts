// What a refund may be and what it takes back, pure: only succeeded credit top-ups are refunded,
// never more than is left, and the credits taken back are pro rata. No I/O here.
import { DomainError, invalidFields } from "../../domain/errors.js";
import type {
  PaymentProviderCode,
  PaymentPurposeCode,
  PaymentStatusCode,
} from "../../domain/payment-codes.js";
import { paymentState } from "./errors.js";

/**
 * Credits a refund takes back, pro rata, rounded so that the refunds of a payment add up to exactly
 * its credits once it is refunded in full: the credits of everything refunded so far (this refund
 * included), minus those of what was refunded before it. Pure integer arithmetic.
 */
export function refundCredits(payment: {
  credits: bigint;
  amountMinor: bigint;
  /** Kopecks already refunded or being refunded before this refund. */
  allocatedMinor: bigint;
  refundMinor: bigint;
}): bigint {
  const before = (payment.credits * payment.allocatedMinor) / payment.amountMinor;
  const after = (payment.credits * (payment.allocatedMinor + payment.refundMinor)) / payment.amountMinor;
  return after - before;
}

export interface RefundablePayment {
  readonly id: string;
  readonly status: PaymentStatusCode;
  readonly purpose: PaymentPurposeCode;
  readonly provider: PaymentProviderCode;
  readonly providerPaymentId: string | null | undefined;
  readonly amountMinor: bigint;
  readonly credits: bigint;
}

/**
 * The refund asked for (`askedMinor`, 0 = everything left) given the payment and the kopecks its
 * other open or succeeded refunds already hold; PAYMENT_STATE or INVALID_ARGUMENT when it may not be.
 */
export function refundOf(
  payment: RefundablePayment,
  allocatedMinor: bigint,
  askedMinor: bigint,
): { amountMinor: bigint; credits: bigint; providerPaymentId: string } {
  if (payment.status !== "SUCCEEDED" || payment.providerPaymentId == null) {
    throw paymentState(
      payment,
      `payment ${payment.id} is ${payment.status}; only succeeded payments are refunded`,
    );
  }
  if (payment.purpose !== "CREDITS")
    throw paymentState(payment, "plan purchases are not refunded through RefundPayment");
  const refundableMinor = payment.amountMinor - allocatedMinor;
  if (refundableMinor <= 0n) throw paymentState(payment, `payment ${payment.id} is already refunded in full`);
  const amountMinor = askedMinor === 0n ? refundableMinor : askedMinor;
  // refundStarPayment gives back the whole payment, never a part of it.
  if (payment.provider === "TELEGRAM_STARS" && amountMinor !== payment.amountMinor) {
    throw invalidFields([
      {
        field: "amount_minor",
        description: `a Stars payment is refunded in full: 0 or ${payment.amountMinor}`,
      },
    ]);
  }
  if (amountMinor > refundableMinor) {
    throw invalidFields([
      { field: "amount_minor", description: `must be at most ${refundableMinor} (what is not yet refunded)` },
    ]);
  }
  const credits = refundCredits({
    credits: payment.credits,
    amountMinor: payment.amountMinor,
    allocatedMinor,
    refundMinor: amountMinor,
  });
  return { amountMinor, credits, providerPaymentId: payment.providerPaymentId };
}

/** Without force a refund is refused up front when the user no longer has the credits it takes. */
export function assertCreditsStillThere(creditsAvailable: bigint, credits: bigint): void {
  if (creditsAvailable >= credits) return;
  throw new DomainError(
    "CREDITS_ALREADY_SPENT",
    `the user has ${creditsAvailable} purchased credits available, fewer than the ${credits} this refund takes back; pass force to refund anyway`,
    { metadata: { credits_available: creditsAvailable.toString(), credits_to_take: credits.toString() } },
  );
}
