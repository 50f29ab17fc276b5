// What a refund reads and locks before anything else: the charge it reverses and, locked, the hold
// that charge belongs to (the one lock order of the ledger: holds, then accounts); and whether the
// charge was refunded already.
import { LockMode } from "@mikro-orm/postgresql";
import type { EntityManager } from "../../db/database.js";
import { LedgerHold, LedgerTransfer } from "../../db/entities.js";
import { DomainError } from "../../domain/errors.js";
import { holdNotFound } from "../rules/errors.js";

export type RefundTarget = { transferId: string } | { holdId: string };

/** The charge to refund and, locked, the hold it belongs to (transfers are immutable: no lock). */
export async function lockRefundTarget(
  tx: EntityManager,
  target: RefundTarget,
): Promise<{ hold: LedgerHold | null; original: LedgerTransfer | null }> {
  const lockHold = (id: string) => tx.findOne(LedgerHold, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if ("holdId" in target) {
    const hold = await lockHold(target.holdId);
    if (hold === null) throw holdNotFound(target.holdId);
    const original =
      hold.resolutionTransferId == null
        ? null
        : await tx.findOne(LedgerTransfer, { id: hold.resolutionTransferId });
    return { hold, original };
  }
  const original = await tx.findOne(LedgerTransfer, { id: target.transferId });
  if (original === null) {
    throw new DomainError("TRANSFER_NOT_FOUND", `no transfer ${target.transferId}`, {
      metadata: { transfer_id: target.transferId },
    });
  }
  return { hold: original.holdId == null ? null : await lockHold(original.holdId), original };
}

/** The refund of a charge, if it has one. */
export async function refundOf(tx: EntityManager, transferId: string): Promise<LedgerTransfer | null> {
  return tx.findOne(LedgerTransfer, { refundOf: transferId });
}
