// Charge and Reserve on a batch session: the funding rule picks the source, one transfer moves it
// (posted for a charge, pending for a hold), and the price is frozen into the hold. Credits come
// from the user's promo lots first (rules/lots.ts), then purchased credits; the transfer carries
// each lot's share, so one operation stays one transfer however many lots pay for it.
import { randomUUID } from "node:crypto";
import type { AssetCode, FundingSourceCode } from "../domain/ledger-codes.js";
import { accountNotFound, insufficientFunds } from "./rules/errors.js";
import { available } from "./rules/balances.js";
import { chooseFunding, type Funding } from "./rules/funding.js";
import { drawShares, type LotShare, takeShares } from "./rules/lots.js";
import type { AccountState, TransferMeta } from "./rules/transfers.js";
import { balanceOf, holdView } from "./rules/views.js";
import type { BatchSession } from "./store/batch-session.js";
import type { HoldState } from "./store/rows.js";
import type { ChargeResult, HoldResult } from "./types.js";

export interface ChargeCommand {
  userRef: string;
  operation: string;
  idempotencyKey: string;
  reference: string;
}

export interface ReserveCommand {
  userRef: string;
  operation: string;
  idempotencyKey: string;
  timeoutMs: number;
  jobId: string;
}

export const FUNDING_ASSET: Readonly<Record<Exclude<FundingSourceCode, "NONE">, AssetCode>> = {
  FREE_OPERATION: "FREE_OPERATIONS",
  CREDITS: "CREDITS",
};

/** Where spending goes: the revenue shard of each asset this batch took. */
export type RevenueShards = Readonly<Record<AssetCode, bigint>>;

interface Spender {
  credits: AccountState;
  freeOperations: AccountState;
}

function spenderOf(session: BatchSession, userRef: string): Spender {
  const accounts = session.userAccounts(userRef);
  if (accounts === undefined) throw accountNotFound(userRef);
  return accounts;
}

function fund(spender: Spender, operation: string, priceCredits: bigint): Funding {
  const balances = { credits: available(spender.credits), freeOperations: available(spender.freeOperations) };
  const funding = chooseFunding(priceCredits, balances);
  if (funding === undefined) throw insufficientFunds(operation, priceCredits, balances);
  return funding;
}

/** Moves the funded amount from the spender to the revenue shard; undefined for an unfunded (free) operation. */
function spend(
  session: BatchSession,
  revenue: RevenueShards,
  spender: Spender,
  funding: Funding,
  kind: "CHARGE" | "HOLD",
  meta: TransferMeta,
): { transferId: string; counterparty: bigint; lots: LotShare[] } | undefined {
  if (funding.source === "NONE") return undefined;
  const asset = FUNDING_ASSET[funding.source];
  const lots =
    asset === "CREDITS" ? drawShares(session.userLots(meta.userRef), funding.amount, session.now) : [];
  if (lots.length > 0) {
    takeShares(session.lots, lots, kind === "CHARGE" ? "spend" : "reserve");
    session.lotsChanged(lots);
  }
  const transfer = session.move(
    kind,
    asset,
    asset === "CREDITS" ? spender.credits : spender.freeOperations,
    session.account(revenue[asset]),
    { type: kind === "CHARGE" ? "posted" : "pending", amount: funding.amount },
    { ...meta, lots },
  );
  return { transferId: transfer.id, counterparty: revenue[asset], lots };
}

export function charge(
  session: BatchSession,
  revenue: RevenueShards,
  command: ChargeCommand,
  priceCredits: bigint,
): ChargeResult {
  const spender = spenderOf(session, command.userRef);
  const funding = fund(spender, command.operation, priceCredits);
  const spent = spend(session, revenue, spender, funding, "CHARGE", {
    userRef: command.userRef,
    operation: command.operation,
    reference: command.reference,
  });
  return {
    transferId: spent?.transferId ?? "",
    fundedBy: funding.source,
    amountCredits: funding.source === "CREDITS" ? funding.amount : 0n,
    amountFreeOperations: funding.source === "FREE_OPERATION" ? 1n : 0n,
    priceCredits,
    balance: balanceOf(spender),
  };
}

export function reserve(
  session: BatchSession,
  revenue: RevenueShards,
  command: ReserveCommand,
  priceCredits: bigint,
): HoldResult {
  const spender = spenderOf(session, command.userRef);
  const funding = fund(spender, command.operation, priceCredits);
  const holdId = randomUUID();
  const spent = spend(session, revenue, spender, funding, "HOLD", {
    userRef: command.userRef,
    operation: command.operation,
    holdId,
    jobId: command.jobId,
  });
  const hold: HoldState = {
    id: holdId,
    userRef: command.userRef,
    operation: command.operation,
    jobId: command.jobId === "" ? null : command.jobId,
    fundedBy: funding.source,
    amount: funding.amount,
    priceCredits,
    state: "PENDING",
    pendingTransferId: spent?.transferId ?? null,
    resolutionTransferId: null,
    postedAmount: null,
    resolutionReason: null,
    refundTransferId: null,
    expiresAt: new Date(session.now.getTime() + command.timeoutMs),
    createdAt: session.now,
    resolvedAt: null,
    counterpartyAccountId: spent?.counterparty ?? null,
    reservation: spent?.lots ?? [],
  };
  session.addHold(hold);
  return { hold: holdView(hold), balance: balanceOf(spender) };
}
