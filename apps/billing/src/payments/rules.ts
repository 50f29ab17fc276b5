// The rules of payments, pure: the catalogue, what a payment buys, how statuses may move, what a
// refund takes back, what must agree between billing's row and YooKassa's object. No I/O here.
import type { PaymentsConfig } from "@billing/config";
import type { Payment as ProviderPayment, PaymentStatus as ProviderStatus } from "@billing/yookassa";
import type { PaymentStatusCode, RefundStatusCode } from "../domain/payment-codes.js";

export const CURRENCY = "RUB";
/** Kopecks per ruble. */
const MINOR_PER_RUB = 100n;

export interface TopUpPackage {
  readonly packageCode: string;
  readonly amountMinor: bigint;
  readonly credits: bigint;
}

/** Credits bought with `amountMinor`, or undefined when it does not buy a whole number of credits. */
export function creditsFor(amountMinor: bigint, creditsPerRub: bigint): bigint | undefined {
  const scaled = amountMinor * creditsPerRub;
  return scaled % MINOR_PER_RUB === 0n ? scaled / MINOR_PER_RUB : undefined;
}

/** "rub_100" for 10 000 kopecks. Package amounts are whole rubles (configuration guarantees it). */
export function packageCodeOf(amountMinor: bigint): string {
  return `rub_${amountMinor / MINOR_PER_RUB}`;
}

export function topUpPackages(config: PaymentsConfig): TopUpPackage[] {
  return config.packagesMinor.map((amountMinor) => ({
    packageCode: packageCodeOf(amountMinor),
    amountMinor,
    credits: creditsFor(amountMinor, config.creditsPerRub) ?? 0n,
  }));
}

/** "100" for 10 000 kopecks, "100.50" for 10 050: for people, never a float. */
export function formatRubles(amountMinor: bigint): string {
  const rubles = amountMinor / MINOR_PER_RUB;
  const kopecks = amountMinor % MINOR_PER_RUB;
  return kopecks === 0n ? `${rubles}` : `${rubles}.${kopecks.toString().padStart(2, "0")}`;
}

/** Fills {rub}, {credits} and {plan} in a configured description, capped at YooKassa's 128 characters. */
export function renderDescription(
  template: string,
  values: { amountMinor: bigint; credits: bigint; planTitle: string },
): string {
  const text = template
    .replaceAll("{rub}", formatRubles(values.amountMinor))
    .replaceAll("{credits}", values.credits.toString())
    .replaceAll("{plan}", values.planTitle);
  return [...text].slice(0, 128).join("");
}

/**
 * Billing's Idempotence-Key for YooKassa: derived from billing's own id, so it is fixed before the
 * first attempt and identical on every retry, by any instance. 1-64 characters of [0-9A-Za-z+-_.].
 */
export function idempotenceKeyFor(kind: "payment" | "refund", id: string): string {
  const key = `billing-${kind}-${id}`;
  if (!/^[0-9A-Za-z+_.-]{1,64}$/.test(key)) throw new Error(`payments invariant: bad idempotence key ${key}`);
  return key;
}

const PROVIDER_STATUS: Readonly<Record<ProviderStatus, PaymentStatusCode>> = {
  pending: "PENDING",
  waiting_for_capture: "WAITING_FOR_CAPTURE",
  succeeded: "SUCCEEDED",
  canceled: "CANCELED",
};

export function statusOf(remote: ProviderStatus): PaymentStatusCode {
  return PROVIDER_STATUS[remote];
}

const RANK: Readonly<Record<PaymentStatusCode, number>> = {
  CREATING: 0,
  PENDING: 1,
  WAITING_FOR_CAPTURE: 2,
  SUCCEEDED: 3,
  CANCELED: 3,
};

export function isSettled(status: PaymentStatusCode | RefundStatusCode): boolean {
  return status === "SUCCEEDED" || status === "CANCELED";
}

/**
 * What to do with YooKassa's status given billing's: statuses only move forward
 * (creating → pending → waiting_for_capture → succeeded | canceled) and settled ones never change.
 * "behind" is an older answer (a stale or reordered read); "conflict" is a settled payment that
 * YooKassa reports settled the other way, which its status machine cannot produce.
 */
export function transitionOf(
  local: PaymentStatusCode,
  remote: PaymentStatusCode,
): "advance" | "same" | "behind" | "conflict" {
  if (local === remote) return "same";
  if (isSettled(local)) return isSettled(remote) ? "conflict" : "behind";
  return RANK[remote] > RANK[local] ? "advance" : "behind";
}

/** Refund statuses move creating → pending → succeeded | canceled. */
export function refundTransitionOf(
  local: RefundStatusCode,
  remote: "pending" | "succeeded" | "canceled",
): "advance" | "same" | "behind" | "conflict" {
  const target: RefundStatusCode =
    remote === "pending" ? "PENDING" : remote === "succeeded" ? "SUCCEEDED" : "CANCELED";
  if (local === target) return "same";
  if (isSettled(local)) return isSettled(target) ? "conflict" : "behind";
  return local === "CREATING" || target !== "PENDING" ? "advance" : "behind";
}

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

export interface ExpectedPayment {
  readonly id: string;
  readonly providerPaymentId: string | null | undefined;
  readonly amountMinor: bigint;
  readonly currency: string;
}

/**
 * Where YooKassa's object disagrees with what billing created. Any of these means nothing may be
 * credited: the amount or currency differs, the object belongs to another payment, or it is a test
 * object while test objects are not accepted.
 */
export function mismatchesOf(
  local: ExpectedPayment,
  remote: ProviderPayment,
  options: { allowTestPayments: boolean },
): string[] {
  const problems: string[] = [];
  if (local.providerPaymentId != null && remote.id !== local.providerPaymentId)
    problems.push(`provider id ${remote.id} is not the stored ${local.providerPaymentId}`);
  if (remote.amount.amountMinor !== local.amountMinor)
    problems.push(`amount ${remote.amount.amountMinor} differs from the created ${local.amountMinor}`);
  if (remote.amount.currency !== local.currency)
    problems.push(`currency ${remote.amount.currency} differs from the created ${local.currency}`);
  const claimed = remote.metadata["billing_payment_id"];
  if (claimed !== local.id) problems.push(`metadata.billing_payment_id is ${claimed ?? "missing"}`);
  if (remote.test && !options.allowTestPayments)
    problems.push("a test object, and test payments are not accepted (YOOKASSA_ALLOW_TEST_PAYMENTS)");
  return problems;
}
