// Credits bought with a payment, and taken back after its refund: inside the payment's own
// transaction (a unit of work the payments context passes through its port), so the credit and the
// payment's status commit together or not at all. Only purchased credits are ever taken back.
import { DomainError } from "../domain/errors.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import type { ColdPath } from "./cold-path.js";
import { purchasedAvailable } from "./rules/lots.js";
import { balanceOf } from "./rules/views.js";
import { SYSTEM } from "./store/accounts.js";
import { ColdWrites, coldTxOf, liveLots } from "./store/cold-writes.js";
import type { Balance } from "./types.js";

export interface TakeBackCommand {
  userRef: string;
  credits: bigint;
  paymentId: string;
  reference: string;
  /** Take what is left when the user spent part of it, instead of refusing. */
  atMostAvailable: boolean;
}

export async function creditTopUp(
  path: ColdPath,
  uow: UnitOfWork,
  command: { userRef: string; credits: bigint; paymentId: string },
): Promise<{ transferId: string; balance: Balance }> {
  const tx = coldTxOf(uow);
  const locked = await path.accounts.lock(tx, command.userRef, [{ name: SYSTEM.payments, asset: "CREDITS" }]);
  locked.credits.toppedUp = true;
  const writes = new ColdWrites(tx, path.now());
  const transfer = writes.move(
    "TOP_UP",
    "CREDITS",
    locked.system(SYSTEM.payments, "CREDITS"),
    locked.credits,
    { type: "posted", amount: command.credits },
    { userRef: command.userRef, reference: command.paymentId },
  );
  writes.balanceChanged(command.userRef, locked, "top_up");
  return { transferId: transfer.id, balance: balanceOf(locked) };
}

/** All of `credits`, or with `atMostAvailable` only what the user still has. Returns what was taken. */
export async function takeBackTopUp(
  path: ColdPath,
  uow: UnitOfWork,
  command: TakeBackCommand,
): Promise<{ takenCredits: bigint; transferId: string; balance: Balance }> {
  const tx = coldTxOf(uow);
  const locked = await path.accounts.lock(tx, command.userRef, [{ name: SYSTEM.payments, asset: "CREDITS" }]);
  // Promo lots are not the payment's.
  const purchased = purchasedAvailable(locked.credits, await liveLots(tx, command.userRef));
  if (command.credits > purchased && !command.atMostAvailable) {
    throw new DomainError(
      "CREDITS_ALREADY_SPENT",
      `the user has ${purchased} purchased credits available, fewer than the ${command.credits} to take back`,
      { metadata: { credits_available: purchased.toString(), credits_to_take: command.credits.toString() } },
    );
  }
  const taken = command.credits < purchased ? command.credits : purchased;
  const before = balanceOf(locked);
  if (taken === 0n) return { takenCredits: 0n, transferId: "", balance: before };
  const writes = new ColdWrites(tx, path.now());
  const transfer = writes.move(
    "PAYMENT_REFUND",
    "CREDITS",
    locked.credits,
    locked.system(SYSTEM.payments, "CREDITS"),
    { type: "posted", amount: taken },
    { userRef: command.userRef, reference: command.reference },
  );
  writes.balanceChanged(command.userRef, locked, "payment_refund");
  const after = balanceOf(locked);
  path.lowBalance.notice((event) => writes.announce(event), locked.credits, {
    before,
    after,
    cause: "payment_refund",
  });
  return { takenCredits: taken, transferId: transfer.id, balance: after };
}

/** Of the user's available credits, the purchased ones, inside another context's transaction. */
export async function purchasedCreditsIn(path: ColdPath, uow: UnitOfWork, userRef: string): Promise<bigint> {
  const em = coldTxOf(uow);
  const { credits } = await path.accounts.read(em, userRef);
  return purchasedAvailable(credits, await liveLots(em, userRef));
}
