// Value that arrives from the issuer: a new account's starter free operations (exactly once,
// however concurrently OpenAccount runs), and an operator's Grant of credits and/or free operations
// — with an expiry, its credits become a promo lot (rules/lots.ts).
import { randomUUID } from "node:crypto";
import { callerKey, entityAnswerBook, runCommand } from "../commands/index.js";
import { callerScope } from "../observability/effects.js";
import { grantEffects, starterGrantEffect } from "./effects.js";
import type { ColdPath } from "./cold-path.js";
import { available } from "./rules/balances.js";
import { assertLotExpiry, assertRoomForLot } from "./rules/lots.js";
import { balanceOf } from "./rules/views.js";
import { SYSTEM } from "./store/accounts.js";
import { activeLotCount, ColdWrites } from "./store/cold-writes.js";
import type { Balance, GrantResult } from "./types.js";

export interface GrantCommand {
  userRef: string;
  amountCredits: bigint;
  freeOperations: bigint;
  reason: string;
  idempotencyKey: string;
  /** With it, the credits are a promo lot. */
  promo?: { expiresAt: Date; priority: number } | undefined;
}

/** Creates the user's accounts and grants the starter free operations, exactly once. */
export async function openAccount(
  path: ColdPath,
  userRef: string,
): Promise<{ created: boolean; balance: Balance }> {
  return path.db.transaction(async (tx) => {
    const created = await path.accounts.create(tx, userRef);
    const locked = await path.accounts.lock(tx, userRef, [
      { name: SYSTEM.issuance, asset: "FREE_OPERATIONS" },
    ]);
    const starterFreeOperations = path.config.starterFreeOperations;
    if (created && starterFreeOperations > 0n) {
      const writes = new ColdWrites(tx, path.now());
      const starter = writes.move(
        "STARTER_GRANT",
        "FREE_OPERATIONS",
        locked.system(SYSTEM.issuance, "FREE_OPERATIONS"),
        locked.freeOperations,
        { type: "posted", amount: starterFreeOperations },
        { userRef, reason: "starter free operations" },
      );
      writes.balanceChanged(userRef, locked, "starter_grant");
      writes.observe(starterGrantEffect(userRef, starterFreeOperations, starter.id), callerScope());
    }
    return { created, balance: balanceOf(locked) };
  });
}

/** Operator credit of credits and/or free operations; with `promo`, the credits are a promo lot. */
export async function grant(path: ColdPath, command: GrantCommand): Promise<GrantResult> {
  const parts = [
    { asset: "CREDITS" as const, amount: command.amountCredits },
    { asset: "FREE_OPERATIONS" as const, amount: command.freeOperations },
  ].filter((part) => part.amount > 0n);
  return path.db.transaction(async (tx) => {
    const locked = await path.accounts.lock(
      tx,
      command.userRef,
      parts.map((part) => ({ name: SYSTEM.issuance, asset: part.asset })),
    );
    const writes = new ColdWrites(tx, path.now());
    const spec = { name: "Grant", key: callerKey(command.idempotencyKey), request: command };
    return runCommand(
      entityAnswerBook(tx, () => path.now()),
      spec,
      async (): Promise<GrantResult> => {
        const promo = command.promo;
        if (promo !== undefined) {
          assertLotExpiry(promo.expiresAt, writes.now);
          assertRoomForLot(await activeLotCount(tx, command.userRef));
        }
        const lotId = promo === undefined ? "" : randomUUID();
        const transferIds = parts.map((part) => {
          const lots = lotId !== "" && part.asset === "CREDITS" ? [{ lotId, amount: part.amount }] : [];
          return writes.move(
            "GRANT",
            part.asset,
            locked.system(SYSTEM.issuance, part.asset),
            locked.user(part.asset),
            { type: "posted", amount: part.amount },
            { userRef: command.userRef, reason: command.reason, lots },
          ).id;
        });
        if (promo !== undefined) {
          writes.createLot({
            id: lotId,
            userRef: command.userRef,
            accountId: locked.credits.id,
            credits: command.amountCredits,
            priority: promo.priority,
            expiresAt: promo.expiresAt,
            reason: command.reason,
            grantTransferId: transferIds[0] ?? "",
          });
          writes.announce({
            kind: "promoGranted",
            userRef: command.userRef,
            lotId,
            amountCredits: command.amountCredits,
            expiresAt: promo.expiresAt,
            priority: promo.priority,
            reason: command.reason,
            creditsAvailable: available(locked.credits),
          });
        }
        writes.balanceChanged(command.userRef, locked, "grant");
        for (const effect of grantEffects(command, parts, transferIds)) writes.observe(effect, callerScope());
        return { transferIds, balance: balanceOf(locked), lotId };
      },
    );
  });
}
