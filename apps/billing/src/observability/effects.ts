// The vocabulary of money effects that billing observes (metrics and the audit log), and who caused
// them. An effect is announced once, after its transaction committed: a replay, a refusal or a
// transaction retried after a conflict never announces anything. No I/O here.
import { AsyncLocalStorage } from "node:async_hooks";

export const EFFECT_KINDS = [
  "charge",
  "hold",
  "hold_posted",
  "hold_voided",
  "hold_expired",
  "refund",
  "grant",
  "starter_grant",
  "payment_created",
  "payment_succeeded",
  "payment_canceled",
  "payment_refunded",
  "quota_debit",
  "quota_credit",
  "credits_expired",
] as const;
export type EffectKind = (typeof EFFECT_KINDS)[number];

export type EffectUnit = "credits" | "free_operations" | "kopecks" | "stars" | "units";

/** One money effect. Labels of metrics come only from bounded fields (never user_ref or ids). */
export interface MoneyEffect {
  readonly kind: EffectKind;
  readonly userRef: string;
  readonly amount: bigint;
  readonly unit: EffectUnit;
  readonly transferId?: string | undefined;
  readonly holdId?: string | undefined;
  readonly paymentId?: string | undefined;
  readonly refundId?: string | undefined;
  /** The caller's key; the audit line carries only its hash. */
  readonly idempotencyKey?: string | undefined;
  /** A price-list operation (bounded by configuration). */
  readonly operation?: string | undefined;
  /** FREE_OPERATION | CREDITS | NONE. */
  readonly fundedBy?: string | undefined;
  /** A quota metric and plan code (bounded by configuration). */
  readonly metric?: string | undefined;
  readonly plan?: string | undefined;
  /** Why promo credits expired: lot_expired | returned_after_expiry. */
  readonly cause?: string | undefined;
}

/** Who asked: the token's scope of the RPC, or "system" for billing's own sweeps. */
export type CallerScope = string;
export const SYSTEM_SCOPE: CallerScope = "system";

const callScope = new AsyncLocalStorage<CallerScope>();

/** Runs `work` with the caller's scope in reach of the effects it causes. */
export function withCallerScope<T>(scope: CallerScope | undefined, work: () => T): T {
  return scope === undefined ? work() : callScope.run(scope, work);
}

/** The scope of the RPC being served here, or "system" outside any call. */
export function callerScope(): CallerScope {
  return callScope.getStore() ?? SYSTEM_SCOPE;
}
