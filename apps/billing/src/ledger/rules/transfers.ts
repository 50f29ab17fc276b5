// One movement of value between two accounts, as the ledger records it: applied to both accounts in
// place, checked (a user never goes below zero), and returned as the immutable transfer row with the
// balances after it. Both the set-based store and the ORM store write what this returns. Pure.
import { randomUUID } from "node:crypto";
import type { AccountKind, AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import type { LowBalanceWatch } from "./low-balance.js";
import type { LotShare } from "./lots.js";
import { type AccountBalances, applyMovement, available, type Movement, reserved } from "./balances.js";

/** An account as the rules see it; a user's CREDITS account also carries its low-balance watch. */
export interface AccountState extends AccountBalances, LowBalanceWatch {
  readonly id: bigint;
  readonly ownerRef: string;
  readonly asset: AssetCode;
  readonly kind: AccountKind;
}

export interface TransferMeta {
  userRef: string;
  operation?: string | undefined;
  holdId?: string | undefined;
  jobId?: string | undefined;
  reference?: string | undefined;
  reason?: string | undefined;
  pendingId?: string | undefined;
  refundOf?: string | undefined;
  /** The promo lots whose value this is, and how much of the amount each (the rest: purchased). */
  lots?: readonly LotShare[] | undefined;
}

export interface NewTransfer {
  id: string;
  kind: TransferKind;
  asset: AssetCode;
  debitAccountId: bigint;
  creditAccountId: bigint;
  amount: bigint;
  pending: boolean;
  pendingId: string | null;
  refundOf: string | null;
  userRef: string;
  operation: string | null;
  holdId: string | null;
  jobId: string | null;
  reference: string | null;
  reason: string | null;
  /** Promo lots' shares of the amount; null when it moved none. */
  lots: readonly LotShare[] | null;
  /** Available balance of each side right after the transfer. */
  debitBalanceAfter: bigint;
  creditBalanceAfter: bigint;
  /** Reserved balance (pending debits) of each side right after the transfer. */
  debitReservedAfter: bigint;
  creditReservedAfter: bigint;
  createdAt: Date;
}

export function moveValue(
  kind: TransferKind,
  asset: AssetCode,
  debit: AccountState,
  credit: AccountState,
  movement: Movement,
  meta: TransferMeta,
  now: Date,
): NewTransfer {
  if (debit.asset !== asset || credit.asset !== asset)
    throw new Error("ledger invariant: transfer between assets");
  applyMovement(debit, credit, movement);
  for (const account of [debit, credit]) {
    // The database CHECK refuses this too; failing here first gives a clear error and trace.
    if (account.kind === "USER" && available(account) < 0n) {
      throw new Error(`ledger invariant: user account ${account.id} would go negative`);
    }
  }
  return {
    id: randomUUID(),
    kind,
    asset,
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amount: movement.amount,
    pending: movement.type === "pending",
    pendingId: meta.pendingId ?? null,
    refundOf: meta.refundOf ?? null,
    userRef: meta.userRef,
    operation: meta.operation ?? null,
    holdId: meta.holdId ?? null,
    jobId: emptyAsNull(meta.jobId),
    reference: emptyAsNull(meta.reference),
    reason: meta.reason ?? null,
    lots: meta.lots === undefined || meta.lots.length === 0 ? null : meta.lots,
    debitBalanceAfter: available(debit),
    creditBalanceAfter: available(credit),
    debitReservedAfter: reserved(debit),
    creditReservedAfter: reserved(credit),
    createdAt: now,
  };
}

/** Lot shares as stored in ledger_transfers.lots (JSON, amounts as strings). */
export function storedShares(lots: readonly LotShare[] | null): { lot: string; amount: string }[] | null {
  return lots === null ? null : lots.map((share) => ({ lot: share.lotId, amount: share.amount.toString() }));
}

export function sharesOfStored(
  stored: readonly { lot: string; amount: string }[] | null | undefined,
): LotShare[] {
  return (stored ?? []).map((share) => ({ lotId: share.lot, amount: BigInt(share.amount) }));
}

function emptyAsNull(value: string | undefined): string | null {
  return value === undefined || value === "" ? null : value;
}
