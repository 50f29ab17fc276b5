// Promo lots: the part of a user's CREDITS balance that expires. Which lots pay for an amount (the
// spending order), how a hold's reservation is posted or returned lot by lot, and what expires.
// The account's balance stays the truth of what the user can spend; a lot only says which part of
// it is promo, so every function here changes lots and leaves the account to the transfer that
// carries the shares. Pure, no I/O.
import { DomainError } from "../../domain/errors.js";
import type { LotStateCode } from "../../domain/ledger-codes.js";
import { type AccountBalances, available } from "./balances.js";

export interface LotState {
  readonly id: string;
  readonly userRef: string;
  readonly grantedCredits: bigint;
  /** Value still on the lot, held included. */
  balance: bigint;
  /** Of `balance`, held by pending holds. */
  reserved: bigint;
  readonly priority: number;
  readonly expiresAt: Date;
  state: LotStateCode;
  expiredAt?: Date | null | undefined;
  readonly reason: string;
  readonly createdAt: Date;
}

/** How much of a transfer's amount was a lot's (the rest of it is purchased credits). */
export interface LotShare {
  readonly lotId: string;
  readonly amount: bigint;
}

export const LOT_PRIORITY_MAX = 1000;
/** Unexpired lots per user: every charge reads a user's lots, so their number is bounded. */
export const LOTS_PER_USER_MAX = 100;
/** The furthest a promo lot may expire: ten years ahead. */
export const LOT_EXPIRY_MAX_MS = 10 * 366 * 24 * 3600 * 1000;
/** billing.credits.expiring is announced this long before a lot expires. */
export const LOT_EXPIRING_NOTICE_MS = 24 * 3600 * 1000;

/** A promo lot must expire after the ledger's clock, and within LOT_EXPIRY_MAX_MS of it. */
export function assertLotExpiry(expiresAt: Date, now: Date): void {
  const aheadMs = expiresAt.getTime() - now.getTime();
  if (aheadMs > 0 && aheadMs <= LOT_EXPIRY_MAX_MS) return;
  throw new DomainError("INVALID_FIELD", "expires_at is out of range", {
    fieldViolations: [
      {
        field: "expires_at",
        description:
          aheadMs <= 0
            ? `must be after the ledger's clock (${now.toISOString()})`
            : "must be at most 10 years ahead",
      },
    ],
  });
}

export function assertRoomForLot(liveLots: number): void {
  if (liveLots < LOTS_PER_USER_MAX) return;
  throw new DomainError(
    "TOO_MANY_LOTS",
    `the user already has ${liveLots} unexpired promo lots (at most ${LOTS_PER_USER_MAX})`,
    { metadata: { lots: liveLots.toString(), lots_max: LOTS_PER_USER_MAX.toString() } },
  );
}

/** What of a lot can be spent now. */
export function lotAvailable(lot: LotState): bigint {
  return lot.state === "ACTIVE" ? lot.balance - lot.reserved : 0n;
}

export function isLotDue(lot: LotState, now: Date): boolean {
  return lot.state === "ACTIVE" && lot.expiresAt.getTime() <= now.getTime();
}

/** Higher priority first, then the earliest expiry, then the oldest grant: a total order. */
function compareSpending(a: LotState, b: LotState): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const byExpiry = a.expiresAt.getTime() - b.expiresAt.getTime();
  if (byExpiry !== 0) return byExpiry;
  const byGrant = a.createdAt.getTime() - b.createdAt.getTime();
  if (byGrant !== 0) return byGrant;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The lots that can pay now, in the order they pay. */
export function spendingOrder(lots: Iterable<LotState>, now: Date): LotState[] {
  return [...lots].filter((lot) => !isLotDue(lot, now) && lotAvailable(lot) > 0n).sort(compareSpending);
}

/** Promo credits the user can spend now. */
export function promoAvailable(lots: Iterable<LotState>, now: Date): bigint {
  return spendingOrder(lots, now).reduce((sum, lot) => sum + lotAvailable(lot), 0n);
}

/**
 * What of a CREDITS account's available balance is purchased credits: all of it but the lots'. A lot
 * that is due but not yet expired counts as promo here, so its value is never taken for purchased.
 */
export function purchasedAvailable(credits: AccountBalances, lots: Iterable<LotState>): bigint {
  let promo = 0n;
  for (const lot of lots) promo += lotAvailable(lot);
  return available(credits) - promo;
}

/** Which lots pay for `amount`, in spending order; what they cannot cover is purchased credits. */
export function drawShares(lots: Iterable<LotState>, amount: bigint, now: Date): LotShare[] {
  const shares: LotShare[] = [];
  let left = amount;
  for (const lot of spendingOrder(lots, now)) {
    if (left === 0n) break;
    const take = minOf(lotAvailable(lot), left);
    shares.push({ lotId: lot.id, amount: take });
    left -= take;
  }
  return shares;
}

export function sharesTotal(shares: readonly LotShare[]): bigint {
  return shares.reduce((sum, share) => sum + share.amount, 0n);
}

/** Value that expires, and why: the lot reached its expiry, or value came back to an expired lot. */
export interface ExpiredShare extends LotShare {
  readonly cause: "lot_expired" | "returned_after_expiry";
}

/** Lots by id, for applying shares; a share of an unknown lot is a broken invariant. */
export type LotsById = ReadonlyMap<string, LotState>;

function lotOf(lots: LotsById, share: LotShare): LotState {
  const lot = lots.get(share.lotId);
  if (lot === undefined) throw new Error(`ledger invariant: lot ${share.lotId} was not loaded`);
  return lot;
}

/** A charge (posted) or a hold (reserved) takes its shares from the lots. */
export function takeShares(lots: LotsById, shares: readonly LotShare[], how: "spend" | "reserve"): void {
  for (const share of shares) {
    const lot = lotOf(lots, share);
    if (lotAvailable(lot) < share.amount) throw new Error(`ledger invariant: lot ${lot.id} overdrawn`);
    if (how === "spend") lot.balance -= share.amount;
    else lot.reserved += share.amount;
  }
}

/**
 * Settles a hold's reservation: `postedAmount` of it is spent, lots first in the order they were
 * reserved (purchased credits last, as when it was reserved); the rest returns to its lots.
 */
export function settleReservation(
  lots: LotsById,
  reservation: readonly LotShare[],
  postedAmount: bigint,
): { posted: LotShare[]; returned: LotShare[] } {
  const posted: LotShare[] = [];
  const returned: LotShare[] = [];
  let left = postedAmount;
  for (const share of reservation) {
    const lot = lotOf(lots, share);
    if (lot.reserved < share.amount) throw new Error(`ledger invariant: lot ${lot.id} reserved below zero`);
    const spent = minOf(share.amount, left);
    left -= spent;
    lot.reserved -= share.amount;
    lot.balance -= spent;
    if (spent > 0n) posted.push({ lotId: share.lotId, amount: spent });
    if (share.amount > spent) returned.push({ lotId: share.lotId, amount: share.amount - spent });
  }
  return { posted, returned };
}

/** A refund gives value back to the lots that paid. */
export function returnShares(lots: LotsById, shares: readonly LotShare[]): void {
  for (const share of shares) lotOf(lots, share).balance += share.amount;
}

/**
 * What expires now: a due lot's whole available remainder, and on an expired lot whatever came back
 * to it beyond what holds still hold (a release or a refund after its expiry). Marks due lots
 * expired; returns one share per lot with something to expire (the caller books the transfers).
 */
export function expireLots(lots: Iterable<LotState>, now: Date): ExpiredShare[] {
  const expired: ExpiredShare[] = [];
  for (const lot of lots) {
    const due = isLotDue(lot, now);
    if (due) {
      lot.state = "EXPIRED";
      lot.expiredAt = now;
    }
    if (lot.state !== "EXPIRED") continue;
    const excess = lot.balance - lot.reserved;
    if (excess <= 0n) continue;
    lot.balance -= excess;
    expired.push({ lotId: lot.id, amount: excess, cause: due ? "lot_expired" : "returned_after_expiry" });
  }
  return expired;
}

/** The user's lots with credits left, in spending order, with the first expiry among them. */
export function promoSummary(lots: Iterable<LotState>): {
  promo: bigint;
  lots: LotState[];
  nextExpiry: { amount: bigint; at: Date } | undefined;
} {
  // A lot past its expiry that no sweep or command has expired yet still counts: its credits are
  // still in the account's balance (and go at the next sweep), so promo + purchased = available.
  const ordered = [...lots].filter((lot) => lotAvailable(lot) > 0n).sort(compareSpending);
  const promo = ordered.reduce((sum, lot) => sum + lotAvailable(lot), 0n);
  let nextExpiry: { amount: bigint; at: Date } | undefined;
  for (const lot of ordered) {
    const at = lot.expiresAt;
    if (nextExpiry === undefined || at.getTime() < nextExpiry.at.getTime())
      nextExpiry = { amount: lotAvailable(lot), at };
    else if (at.getTime() === nextExpiry.at.getTime()) nextExpiry.amount += lotAvailable(lot);
  }
  return { promo, lots: ordered, nextExpiry };
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
