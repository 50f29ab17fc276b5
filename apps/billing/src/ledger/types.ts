// What the ledger answers. Plain data with bigint amounts; rpc/ maps it to proto.
import type { AssetCode, FundingSourceCode, HoldStateCode, TransferKind } from "../domain/ledger-codes.js";
import type { LotShare, LotState } from "./rules/lots.js";

export type { LotShare, LotState };

export interface Balance {
  creditsAvailable: bigint;
  creditsReserved: bigint;
  freeOperationsAvailable: bigint;
  freeOperationsReserved: bigint;
}

export interface HoldView {
  holdId: string;
  userRef: string;
  operation: string;
  jobId: string;
  state: HoldStateCode;
  fundedBy: FundingSourceCode;
  amountCredits: bigint;
  amountFreeOperations: bigint;
  postedAmount: bigint;
  priceCredits: bigint;
  createdAt: Date;
  expiresAt: Date;
  resolvedAt: Date | undefined;
  resolutionReason: string;
  postedTransferId: string;
  refunded: boolean;
}

export interface ChargeResult {
  transferId: string;
  fundedBy: FundingSourceCode;
  amountCredits: bigint;
  amountFreeOperations: bigint;
  priceCredits: bigint;
  balance: Balance;
}

export interface HoldResult {
  hold: HoldView;
  balance: Balance;
}

export interface RefundResult {
  refundTransferId: string;
  returnedAs: FundingSourceCode;
  amountCredits: bigint;
  amountFreeOperations: bigint;
  balance: Balance;
}

export interface GrantResult {
  transferIds: string[];
  balance: Balance;
  /** The promo lot created; "" for a grant without expiry. */
  lotId: string;
}

/** GetBalance now: the balance, its promo part and the lots that hold it. */
export interface BalanceDetails {
  balance: Balance;
  creditsPurchased: bigint;
  creditsPromo: bigint;
  nextExpiry: { amount: bigint; at: Date } | undefined;
  /** Unexpired lots with credits left, in spending order. */
  promoLots: LotState[];
}

/** An instant in microseconds since the Unix epoch: the precision of a transfer's booked_at. */
export type Micros = bigint;

/** Which entries a statement lists; empty fields do not narrow it. */
export interface StatementFilter {
  /** Entries booked at or after this instant. */
  startMicros?: Micros | undefined;
  /** Entries booked before this instant. */
  endMicros?: Micros | undefined;
  kinds: readonly TransferKind[];
  operation: string;
  /** Matches an entry's reference exactly (a charge's caller reference, a grant's reason, a payment id). */
  reference: string;
}

export interface StatementQuery {
  userRef: string;
  /** 0 = the default page size. */
  pageSize: number;
  pageToken: string;
  filter: StatementFilter;
}

export interface StatementEntry {
  transferId: string;
  kind: TransferKind;
  asset: AssetCode;
  /** Change of the user's available balance of this asset (signed). */
  amount: bigint;
  balanceAfter: bigint;
  operation: string;
  holdId: string;
  jobId: string;
  reference: string;
  createdAt: Date;
  /** When the ledger booked it: the instant from which GetBalance(as_of) includes it. */
  bookedAtMicros: Micros;
  /** The promo lots it moved value of (the rest of `amount` is purchased credits). */
  lots: LotShare[];
}

export interface Statement {
  entries: StatementEntry[];
  nextPageToken: string;
}

export interface LedgerViolation {
  invariant: string;
  subject: string;
  description: string;
}

export interface VerifyReport {
  ok: boolean;
  violations: LedgerViolation[];
  accountsChecked: bigint;
  transfersChecked: bigint;
  holdsChecked: bigint;
}
