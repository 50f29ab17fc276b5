// Refund: reverses a posted charge (by transfer) or a committed hold (by hold) to the source that
// paid it, once. Promo credits go back to the lots that paid; what comes back to a lot that has
// expired meanwhile expires at once. Locks in the one order of the ledger: the hold (if the charge
// was a hold's), then the accounts.
import { callerKey, entityAnswerBook, runCommand } from "../commands/index.js";
import { DomainError } from "../domain/errors.js";
import { callerScope } from "../observability/effects.js";
import { refundEffect } from "./effects.js";
import type { ColdPath } from "./cold-path.js";
import { bookExpiries } from "./promo-lots.js";
import { returnShares } from "./rules/lots.js";
import { sharesOfStored } from "./rules/transfers.js";
import { balanceOf } from "./rules/views.js";
import { SYSTEM } from "./store/accounts.js";
import { ColdWrites, lotsByIds } from "./store/cold-writes.js";
import { lockRefundTarget, refundOf, type RefundTarget } from "./store/refund-target.js";
import type { RefundResult } from "./types.js";

export interface RefundCommand {
  target: RefundTarget;
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
        const already = await refundOf(tx, original.id);
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
