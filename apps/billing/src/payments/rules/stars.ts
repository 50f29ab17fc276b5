// Telegram Stars, pure: the Stars packages and what they buy, the invoice the bot sends, and what a
// pre_checkout_query or a successful_payment must agree with before anything is accepted. No I/O.
import type { PaymentsConfig, StarsConfig } from "@billing/config";
import { DomainError } from "../../domain/errors.js";
import type { PaymentStatusCode } from "../../domain/payment-codes.js";
import type { TopUpPackage } from "../types.js";
import { paymentState } from "./errors.js";

export const STARS_CURRENCY = "XTR";
/** Why billing cancels a Stars payment nobody paid in time. */
export const STARS_EXPIRED_REASON = "expired_on_invoice";
const PACKAGE_PREFIX = "stars_";
/** Telegram's limits on an invoice's texts. */
const TITLE_MAX = 32;
const DESCRIPTION_MAX = 255;

/** Credits bought with `stars` at the rate, or undefined when not a whole number. */
export function creditsForStars(stars: bigint, rate: StarsConfig["rate"]): bigint | undefined {
  const scaled = stars * rate.credits;
  return scaled % rate.stars === 0n ? scaled / rate.stars : undefined;
}

export function starsPackages(config: PaymentsConfig): TopUpPackage[] {
  const { stars } = config;
  return stars.packagesStars.map((size) => ({
    packageCode: `${PACKAGE_PREFIX}${size}`,
    amountMinor: size,
    credits: creditsForStars(size, stars.rate) ?? 0n,
  }));
}

export function starsEnabled(config: PaymentsConfig): boolean {
  return config.stars.packagesStars.length > 0;
}

/** The Telegram user id in a user_ref "telegram:<id>", or undefined: only they can pay with Stars. */
export function telegramPayerOf(userRef: string): number | undefined {
  const match = /^telegram:(\d{1,16})$/.exec(userRef);
  if (match?.[1] === undefined) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** The invoice as stored with the payment and sent by the bot (JSON-safe: amounts as strings). */
export interface StoredInvoice {
  readonly title: string;
  readonly description: string;
  readonly label: string;
  readonly payload: string;
  readonly currency: typeof STARS_CURRENCY;
  readonly amount: string;
}

export function invoiceOf(
  config: StarsConfig,
  payment: { id: string; amountMinor: bigint; credits: bigint },
): StoredInvoice {
  const fill = (template: string, max: number) =>
    [
      ...template
        .replaceAll("{stars}", payment.amountMinor.toString())
        .replaceAll("{credits}", payment.credits.toString()),
    ]
      .slice(0, max)
      .join("");
  const title = fill(config.title, TITLE_MAX);
  return {
    title,
    description: fill(config.description, DESCRIPTION_MAX),
    label: title,
    payload: payment.id,
    currency: STARS_CURRENCY,
    amount: payment.amountMinor.toString(),
  };
}

export function storedInvoice(value: unknown): StoredInvoice {
  const record = value as Partial<Record<keyof StoredInvoice, unknown>> | null;
  const texts = ["title", "description", "label", "payload", "amount"] as const;
  if (
    typeof record !== "object" ||
    record === null ||
    record.currency !== STARS_CURRENCY ||
    texts.some((key) => typeof record[key] !== "string")
  )
    throw new Error("payments invariant: a stored Stars invoice is malformed");
  return record as StoredInvoice;
}

/** A pre_checkout_query or successful_payment, as Telegram sent it. */
export interface StarsOrder {
  readonly userRef: string;
  readonly invoicePayload: string;
  readonly currency: string;
  readonly totalAmount: bigint;
}

export interface StarsPaymentFacts {
  readonly id: string;
  readonly provider: string;
  readonly userRef: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly status: PaymentStatusCode;
  readonly createdAt: Date;
  readonly providerPaymentId: string | null | undefined;
}

/** Where the order disagrees with the payment its payload names (empty: it agrees). */
export function starsMismatchesOf(payment: StarsPaymentFacts, order: StarsOrder): string[] {
  const problems: string[] = [];
  if (payment.provider !== "TELEGRAM_STARS") problems.push(`payment ${payment.id} is not a Stars payment`);
  if (order.userRef !== payment.userRef)
    problems.push(`paid by ${order.userRef}, created for ${payment.userRef}`);
  if (order.currency !== payment.currency)
    problems.push(`currency ${order.currency} differs from the created ${payment.currency}`);
  if (order.totalAmount !== payment.amountMinor)
    problems.push(`amount ${order.totalAmount} differs from the created ${payment.amountMinor}`);
  return problems;
}

export function isStarsInvoiceExpired(payment: { createdAt: Date }, now: Date, config: StarsConfig): boolean {
  return now.getTime() - payment.createdAt.getTime() >= config.invoiceTtlMs;
}

/**
 * What a pre_checkout_query is refused with: PAYMENT_MISMATCH when the order is not the payment's,
 * PAYMENT_STATE when the payment can no longer be paid. Undefined: Telegram may take the money.
 */
export function preCheckoutRefusal(
  payment: StarsPaymentFacts,
  order: StarsOrder,
  now: Date,
  config: StarsConfig,
): DomainError | undefined {
  const problems = starsMismatchesOf(payment, order);
  if (problems.length > 0) return starsMismatch(payment.id, problems);
  if (payment.status !== "PENDING")
    return paymentState(payment, `payment ${payment.id} is ${payment.status}; it can no longer be paid`);
  if (isStarsInvoiceExpired(payment, now, config))
    return paymentState(payment, `the invoice of payment ${payment.id} has expired`);
  return undefined;
}

export function starsMismatch(paymentId: string, problems: readonly string[]): DomainError {
  return new DomainError(
    "PAYMENT_MISMATCH",
    `the Stars payment disagrees with payment ${paymentId}: ${problems.join("; ")}`,
    { metadata: { payment_id: paymentId, provider: "telegram_stars" } },
  );
}

export function starsDisabled(): DomainError {
  return new DomainError("PROVIDER_REJECTED", "Telegram Stars are off (STARS_PACKAGES=off)", {
    metadata: { provider: "telegram_stars", provider_code: "not_configured" },
  });
}

export function starsRefundsDisabled(): DomainError {
  return new DomainError(
    "PROVIDER_REJECTED",
    "Stars payments cannot be refunded: this billing has no TELEGRAM_BOT_TOKEN",
    { metadata: { provider: "telegram_stars", provider_code: "not_configured" } },
  );
}
