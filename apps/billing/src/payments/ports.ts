// What payments needs of the other contexts, as ports that carry an opaque unit of work: the credit
// (or take-back) and the plan activation commit in the payment's own transaction, or not at all.
// The ledger implements CreditsPort; QuotaService's catalogue implements PlanPurchases (plans.ts).
import type { UnitOfWork } from "../domain/unit-of-work.js";

export interface CreditBalance {
  readonly creditsAvailable: bigint;
}

export interface CreditsPort {
  /** The user's balance (ACCOUNT_NOT_FOUND without accounts), outside any transaction. */
  getBalance(userRef: string): Promise<CreditBalance>;
  /** The user's balance inside the payment's transaction. */
  balanceIn(uow: UnitOfWork, userRef: string): Promise<CreditBalance>;
  /** Of the user's available credits, the purchased ones (promo lots excluded), inside the payment's transaction. */
  purchasedCreditsIn(uow: UnitOfWork, userRef: string): Promise<bigint>;
  /** Credits bought with a payment. */
  creditTopUp(
    uow: UnitOfWork,
    command: { userRef: string; credits: bigint; paymentId: string },
  ): Promise<{ transferId: string; balance: CreditBalance }>;
  /** Takes back credits of a refunded payment: all of them, or with atMostAvailable what is left. */
  takeBackTopUp(
    uow: UnitOfWork,
    command: {
      userRef: string;
      credits: bigint;
      paymentId: string;
      reference: string;
      atMostAvailable: boolean;
    },
  ): Promise<{ takenCredits: bigint; transferId: string; balance: CreditBalance }>;
}
