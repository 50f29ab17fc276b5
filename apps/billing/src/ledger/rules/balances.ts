// Pure ledger arithmetic (TigerBeetle semantics) of the write path. VerifyLedger replays the same
// semantics independently, in SQL (store/verify.ts), so each checks the other.

export interface AccountBalances {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

/** What can be spent now: posted credits minus posted and pending debits. */
export function available(account: AccountBalances): bigint {
  return account.creditsPosted - account.debitsPosted - account.debitsPending;
}

/** Held by pending transfers. */
export function reserved(account: AccountBalances): bigint {
  return account.debitsPending;
}

export const zeroBalances = (): AccountBalances => ({
  debitsPending: 0n,
  debitsPosted: 0n,
  creditsPending: 0n,
  creditsPosted: 0n,
});

/** The effect of one transfer on its two accounts, as recorded in ledger_transfers. */
export type Movement =
  | { type: "posted"; amount: bigint }
  | { type: "pending"; amount: bigint }
  /** Posts `amount` of a pending transfer of `pendingAmount`; the rest returns. */
  | { type: "post_pending"; amount: bigint; pendingAmount: bigint }
  /** Voids (or expires) a pending transfer: `amount` is its whole amount. */
  | { type: "void_pending"; amount: bigint };

export function assertPositive(amount: bigint, what: string): void {
  if (amount <= 0n) throw new Error(`ledger invariant: ${what} must be positive, got ${amount}`);
}

/** Applies a movement in place to the debit and the credit account. */
export function applyMovement(debit: AccountBalances, credit: AccountBalances, movement: Movement): void {
  assertPositive(movement.amount, "transfer amount");
  switch (movement.type) {
    case "posted":
      debit.debitsPosted += movement.amount;
      credit.creditsPosted += movement.amount;
      return;
    case "pending":
      debit.debitsPending += movement.amount;
      credit.creditsPending += movement.amount;
      return;
    case "post_pending":
      if (movement.amount > movement.pendingAmount) {
        throw new Error("ledger invariant: posting more than was pending");
      }
      debit.debitsPending -= movement.pendingAmount;
      credit.creditsPending -= movement.pendingAmount;
      debit.debitsPosted += movement.amount;
      credit.creditsPosted += movement.amount;
      return;
    case "void_pending":
      debit.debitsPending -= movement.amount;
      credit.creditsPending -= movement.amount;
      return;
  }
}
