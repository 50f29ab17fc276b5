// Refund: reverses a posted charge (by transfer) or a committed hold (by hold) to the source that
// paid it, once. Promo credits go back to the lots that paid; what comes back to a lot that has
// expired meanwhile expires at once. Locks in the one order of the ledger: the hold (if the charge
// was a hold's), then the accounts.
import { LockMode } from "@mikro-orm/postgresql";
import { callerKey, entityAnswerBook, runCommand } from "../commands/index.js";
import type { EntityManager } from "../db/database.js";
import { LedgerHold, LedgerTransfer } from "../db/entities.js";
import { DomainError } from "../domain/errors.js";
import { callerScope } from "../observability/effects.js";
import { refundEffect } from "./effects.js";
import type { ColdPath } from "./cold-path.js";
import { bookExpiries } from "./promo-lots.js";
import { holdNotFound } from "./rules/errors.js";
import { returnShares } from "./rules/lots.js";
import { sharesOfStored } from "./rules/transfers.js";
import { balanceOf } from "./rules/views.js";
import { SYSTEM } from "./store/accounts.js";
import { ColdWrites, lotsByIds } from "./store/cold-writes.js";
import type { RefundResult } from "./types.js";

export interface RefundCommand {
  target: { transferId: string } | { holdId: string };
  reason: string;
  idempotencyKey: string;
}

export async function refund(path: ColdPath, command: RefundCommand): Promise<RefundResult> {
  return path.db.transaction(async (tx) => {
    const { hold, original } = await lockRefundTarget(tx, command.target);
    const userRef = hold?.userRef ?? original?.userRef ?? "";
    const asset = original?.asset ?? "CREDITS";
    const locked = await path.accounts.lock(tx, userRef, [
      { name: SYSTEM.revenue, asset },
      { name: SYSTEM.expired, asset: "CREDITS" },
    ]);
    const writes = new ColdWrites(tx, path.now());
    const spec = { name: "Refund", key: callerKey(command.idempotencyKey), request: command };
    return runCommand(
      entityAnswerBook(tx, () => path.now()),
      spec,
      async () => {
        if (
          original === null ||
          (hold !== null && hold.state !== "POSTED") ||
          !["CHARGE", "HOLD_POSTED"].includes(original.kind)
        ) {
          throw new DomainError(
            "NOT_REFUNDABLE",
            "only a posted charge or a committed hold that moved value can be refunded",
          );
        }
        const already = await tx.findOne(LedgerTransfer, { refundOf: original.id });
        if (already !== null) {
          throw new DomainError(
            "ALREADY_REFUNDED",
            `transfer ${original.id} was already refunded by ${already.id}`,
            {
              metadata: { refund_transfer_id: already.id },
            },
          );
        }
        const shares = sharesOfStored(original.lots);
        const lots = await lotsByIds(tx, shares);
        returnShares(new Map(lots.map((lot) => [lot.id, lot])), shares);
        const refunded = writes.move(
          "REFUND",
          asset,
          locked.system(SYSTEM.revenue, asset),
          locked.user(asset),
          { type: "posted", amount: original.amount },
          {
            userRef,
            operation: original.operation ?? undefined,
            holdId: original.holdId ?? undefined,
            jobId: original.jobId ?? undefined,
            reason: command.reason,
            refundOf: original.id,
            lots: shares,
          },
        );
        bookExpiries(writes, userRef, locked.credits, locked.system(SYSTEM.expired, "CREDITS"), lots);
        if (hold !== null) hold.refundTransferId = refunded.id;
        writes.balanceChanged(userRef, locked, "refund");
        const result: RefundResult = {
          refundTransferId: refunded.id,
          returnedAs: asset === "CREDITS" ? "CREDITS" : "FREE_OPERATION",
          amountCredits: asset === "CREDITS" ? original.amount : 0n,
          amountFreeOperations: asset === "FREE_OPERATIONS" ? original.amount : 0n,
          balance: balanceOf(locked),
        };
        writes.observe(refundEffect(original, command.idempotencyKey, result), callerScope());
        return result;
      },
    );
  });
}

/** The charge to refund and, locked, the hold it belongs to (transfers are immutable: no lock). */
async function lockRefundTarget(
  tx: EntityManager,
  target: RefundCommand["target"],
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
