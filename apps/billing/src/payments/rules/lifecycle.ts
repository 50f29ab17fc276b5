// The one lifecycle of everything billing creates at YooKassa — a payment or a refund. No I/O here.
//   creating → pending → (waiting_for_capture →) succeeded | canceled; settled states never change,
//   except that a cancellation billing decided on its own gives way to what YooKassa reports.
// What differs between the two is only what billing may assume when a create got no answer: nobody
// can pay a payment whose confirmation URL was never handed out, but a refund may have sent the
// money back, so a refund is settled only by what YooKassa says about it.
import type {
  PaymentStatus as ProviderPaymentStatus,
  RefundStatus as ProviderRefundStatus,
} from "@billing/yookassa";
import type { PaymentStatusCode, RefundStatusCode } from "../../domain/payment-codes.js";

export type TrackedKind = "payment" | "refund";
export type LifecycleStatus = PaymentStatusCode | RefundStatusCode;
export type Move = "advance" | "same" | "behind" | "conflict";

/**
 * YooKassa honours an Idempotence-Key for 24 h. A create still unanswered after this long is never
 * sent again: past 24 h the same key could create a second object.
 */
export const CREATE_ABANDON_AFTER_MS = 23 * 60 * 60 * 1000;
/** What billing writes as the canceling party when it gives up a payment or refund itself. */
export const BILLING_PARTY = "billing";

const PROVIDER_STATUS: Readonly<Record<ProviderPaymentStatus | ProviderRefundStatus, PaymentStatusCode>> = {
  pending: "PENDING",
  waiting_for_capture: "WAITING_FOR_CAPTURE",
  succeeded: "SUCCEEDED",
  canceled: "CANCELED",
};

export function statusOf(remote: ProviderPaymentStatus | ProviderRefundStatus): PaymentStatusCode {
  return PROVIDER_STATUS[remote];
}

const RANK: Readonly<Record<LifecycleStatus, number>> = {
  CREATING: 0,
  PENDING: 1,
  WAITING_FOR_CAPTURE: 2,
  SUCCEEDED: 3,
  CANCELED: 3,
};

export function isSettled(status: LifecycleStatus): boolean {
  return status === "SUCCEEDED" || status === "CANCELED";
}

/**
 * What to do with YooKassa's status given billing's: statuses only move forward and settled ones
 * never change. "behind" is an older answer (a stale or reordered read); "conflict" is a settled
 * object that YooKassa reports settled the other way, which its status machine cannot produce —
 * unless billing canceled it on its own (`canceledByBilling`): that was billing's guess, and
 * YooKassa's success wins.
 */
export function transitionOf(
  local: LifecycleStatus,
  remote: LifecycleStatus,
  options: { canceledByBilling?: boolean } = {},
): Move {
  if (local === remote) return "same";
  if (isSettled(local)) {
    if (!isSettled(remote)) return "behind";
    return local === "CANCELED" && options.canceledByBilling === true ? "advance" : "conflict";
  }
  return RANK[remote] > RANK[local] ? "advance" : "behind";
}

/** Refund statuses move creating → pending → succeeded | canceled (the same lifecycle). */
export function refundTransitionOf(local: RefundStatusCode, remote: ProviderRefundStatus): Move {
  return transitionOf(local, statusOf(remote));
}

/** A create that has no answer yet: send it again with the same key, give it up, or ask YooKassa. */
export function unansweredCreateStep(kind: TrackedKind, ageMs: number): "resume" | "give_up" | "look_up" {
  if (ageMs <= CREATE_ABANDON_AFTER_MS) return "resume";
  return kind === "payment" ? "give_up" : "look_up";
}

/**
 * YooKassa refused a create (a 4xx). For a payment nothing exists that anyone could pay. A refund's
 * earlier attempt may have gone through before this refusal: ask YooKassa before giving it up.
 */
export function refusedCreateStep(kind: TrackedKind): "give_up" | "look_up" {
  return kind === "payment" ? "give_up" : "look_up";
}

/**
 * Billing's Idempotence-Key for YooKassa: derived from billing's own id, so it is fixed before the
 * first attempt and identical on every retry, by any instance. 1-64 characters of [0-9A-Za-z+-_.].
 */
export function idempotenceKeyFor(kind: TrackedKind, id: string): string {
  const key = `billing-${kind}-${id}`;
  if (!/^[0-9A-Za-z+_.-]{1,64}$/.test(key)) throw new Error(`payments invariant: bad idempotence key ${key}`);
  return key;
}
