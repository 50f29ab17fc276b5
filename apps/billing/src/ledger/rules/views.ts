// What the ledger answers about balances and holds, computed from their stored fields. Pure.
import type { FundingSourceCode, HoldStateCode } from "../../domain/ledger-codes.js";
import type { Balance, HoldView } from "../types.js";
import { type AccountBalances, available, reserved } from "./balances.js";

export function balanceOf(accounts: { credits: AccountBalances; freeOperations: AccountBalances }): Balance {
  return {
    creditsAvailable: available(accounts.credits),
    creditsReserved: reserved(accounts.credits),
    freeOperationsAvailable: available(accounts.freeOperations),
    freeOperationsReserved: reserved(accounts.freeOperations),
  };
}

/** The fields of a stored hold (the ORM entity and the set-based store's rows both have them). */
export interface StoredHold {
  id: string;
  userRef: string;
  operation: string;
  jobId?: string | null | undefined;
  state: HoldStateCode;
  fundedBy: FundingSourceCode;
  amount: bigint;
  postedAmount?: bigint | null | undefined;
  priceCredits: bigint;
  createdAt: Date;
  expiresAt: Date;
  resolvedAt?: Date | null | undefined;
  resolutionReason?: string | null | undefined;
  resolutionTransferId?: string | null | undefined;
  refundTransferId?: string | null | undefined;
}

export function holdView(hold: StoredHold): HoldView {
  return {
    holdId: hold.id,
    userRef: hold.userRef,
    operation: hold.operation,
    jobId: hold.jobId ?? "",
    state: hold.state,
    fundedBy: hold.fundedBy,
    amountCredits: hold.fundedBy === "CREDITS" ? hold.amount : 0n,
    amountFreeOperations: hold.fundedBy === "FREE_OPERATION" ? hold.amount : 0n,
    postedAmount: hold.postedAmount ?? 0n,
    priceCredits: hold.priceCredits,
    createdAt: hold.createdAt,
    expiresAt: hold.expiresAt,
    resolvedAt: hold.resolvedAt ?? undefined,
    resolutionReason: hold.resolutionReason ?? "",
    postedTransferId: hold.state === "POSTED" ? (hold.resolutionTransferId ?? "") : "",
    refunded: hold.refundTransferId != null,
  };
}
