// Row shapes of the set-based store: what its reads return (everything as text, so no type parser
// of the shared pool can change a value), and the JSON rows its writes take (snake_case, matching
// the column names json_to_recordset fills; integers as decimal text, which JSON carries exactly).
import type {
  AccountKind,
  AssetCode,
  FundingSourceCode,
  HoldStateCode,
  LotStateCode,
} from "../../domain/ledger-codes.js";
import type { StoredAnswer } from "../../commands/index.js";
import type { EncodedEvent } from "../../outbox/encode.js";
import type { LotShare, LotState } from "../rules/lots.js";
import { type AccountState, type NewTransfer, sharesOfStored, storedShares } from "../rules/transfers.js";

export const ACCOUNT_COLUMNS = `id::text as id, owner_ref, asset, kind, debits_pending::text as debits_pending,
  debits_posted::text as debits_posted, credits_pending::text as credits_pending,
  credits_posted::text as credits_posted,
  low_balance_threshold_credits::text as low_balance_threshold_credits, topped_up`;

export interface AccountRow {
  id: string;
  owner_ref: string;
  asset: AssetCode;
  kind: AccountKind;
  debits_pending: string;
  debits_posted: string;
  credits_pending: string;
  credits_posted: string;
  low_balance_threshold_credits: string | null;
  topped_up: boolean;
}

export function accountOf(row: AccountRow): AccountState {
  return {
    id: BigInt(row.id),
    ownerRef: row.owner_ref,
    asset: row.asset,
    kind: row.kind,
    debitsPending: BigInt(row.debits_pending),
    debitsPosted: BigInt(row.debits_posted),
    creditsPending: BigInt(row.credits_pending),
    creditsPosted: BigInt(row.credits_posted),
    lowBalanceThresholdCredits:
      row.low_balance_threshold_credits === null ? null : BigInt(row.low_balance_threshold_credits),
    toppedUp: row.topped_up,
  };
}

/** Columns of ledger_holds `h`, with the counterparty `t` of its pending transfer. */
export const HOLD_COLUMNS = `h.id::text as id, h.user_ref, h.operation, h.job_id, h.funded_by,
  h.amount::text as amount, h.price_credits::text as price_credits, h.state,
  h.pending_transfer_id::text as pending_transfer_id,
  h.resolution_transfer_id::text as resolution_transfer_id, h.posted_amount::text as posted_amount,
  h.resolution_reason, h.refund_transfer_id::text as refund_transfer_id,
  floor(extract(epoch from h.expires_at) * 1000)::bigint::text as expires_at_ms,
  floor(extract(epoch from h.created_at) * 1000)::bigint::text as created_at_ms,
  floor(extract(epoch from h.resolved_at) * 1000)::bigint::text as resolved_at_ms,
  t.credit_account_id::text as counterparty_account_id, t.lots::text as reserved_lots`;

export interface HoldRow {
  id: string;
  user_ref: string;
  operation: string;
  job_id: string | null;
  funded_by: FundingSourceCode;
  amount: string;
  price_credits: string;
  state: HoldStateCode;
  pending_transfer_id: string | null;
  resolution_transfer_id: string | null;
  posted_amount: string | null;
  resolution_reason: string | null;
  refund_transfer_id: string | null;
  expires_at_ms: string;
  created_at_ms: string;
  resolved_at_ms: string | null;
  counterparty_account_id: string | null;
  reserved_lots: string | null;
}

/** A hold as the rules see it (the same fields as the ORM entity, so one holdView serves both). */
export interface HoldState {
  id: string;
  userRef: string;
  operation: string;
  jobId: string | null;
  fundedBy: FundingSourceCode;
  amount: bigint;
  priceCredits: bigint;
  state: HoldStateCode;
  pendingTransferId: string | null;
  resolutionTransferId: string | null;
  postedAmount: bigint | null;
  resolutionReason: string | null;
  refundTransferId: string | null;
  expiresAt: Date;
  createdAt: Date;
  resolvedAt: Date | null;
  /** Where its pending transfer put the value (a revenue shard); null for a hold that moved none. */
  counterpartyAccountId: bigint | null;
  /** The promo lots its pending transfer reserved, in the order they pay (the rest: purchased). */
  reservation: readonly LotShare[];
}

export function holdOf(row: HoldRow): HoldState {
  return {
    id: row.id,
    userRef: row.user_ref,
    operation: row.operation,
    jobId: row.job_id,
    fundedBy: row.funded_by,
    amount: BigInt(row.amount),
    priceCredits: BigInt(row.price_credits),
    state: row.state,
    pendingTransferId: row.pending_transfer_id,
    resolutionTransferId: row.resolution_transfer_id,
    postedAmount: row.posted_amount === null ? null : BigInt(row.posted_amount),
    resolutionReason: row.resolution_reason,
    refundTransferId: row.refund_transfer_id,
    expiresAt: new Date(Number(row.expires_at_ms)),
    createdAt: new Date(Number(row.created_at_ms)),
    resolvedAt: row.resolved_at_ms === null ? null : new Date(Number(row.resolved_at_ms)),
    counterpartyAccountId: row.counterparty_account_id === null ? null : BigInt(row.counterparty_account_id),
    reservation: sharesOfStored(
      row.reserved_lots === null
        ? null
        : (JSON.parse(row.reserved_lots) as { lot: string; amount: string }[]),
    ),
  };
}

/** Columns of credit_lots. */
export const LOT_COLUMNS = `id::text as id, user_ref, granted_credits::text as granted_credits,
  balance::text as balance, reserved::text as reserved, priority, state,
  floor(extract(epoch from expires_at) * 1000)::bigint::text as expires_at_ms,
  floor(extract(epoch from expired_at) * 1000)::bigint::text as expired_at_ms,
  floor(extract(epoch from created_at) * 1000)::bigint::text as created_at_ms, reason`;

export interface LotRow {
  id: string;
  user_ref: string;
  granted_credits: string;
  balance: string;
  reserved: string;
  priority: number;
  state: LotStateCode;
  expires_at_ms: string;
  expired_at_ms: string | null;
  created_at_ms: string;
  reason: string;
}

export function lotOf(row: LotRow): LotState {
  return {
    id: row.id,
    userRef: row.user_ref,
    grantedCredits: BigInt(row.granted_credits),
    balance: BigInt(row.balance),
    reserved: BigInt(row.reserved),
    priority: row.priority,
    state: row.state,
    expiresAt: new Date(Number(row.expires_at_ms)),
    expiredAt: row.expired_at_ms === null ? null : new Date(Number(row.expired_at_ms)),
    createdAt: new Date(Number(row.created_at_ms)),
    reason: row.reason,
  };
}

export function lotJson(lot: LotState) {
  return {
    id: lot.id,
    balance: lot.balance.toString(),
    reserved: lot.reserved.toString(),
    state: lot.state,
    expired_at: lot.expiredAt?.toISOString() ?? null,
  };
}

export interface KeyRow {
  key: string;
  command: string;
  fingerprint: string;
  result: string;
}

export function answerOf(row: KeyRow): StoredAnswer {
  return {
    command: row.command,
    fingerprint: Buffer.from(row.fingerprint, "hex"),
    answer: JSON.parse(row.result) as unknown,
  };
}

export function transferJson(transfer: NewTransfer, n: number) {
  return {
    n,
    id: transfer.id,
    kind: transfer.kind,
    asset: transfer.asset,
    debit_account_id: transfer.debitAccountId.toString(),
    credit_account_id: transfer.creditAccountId.toString(),
    amount: transfer.amount.toString(),
    pending: transfer.pending,
    pending_id: transfer.pendingId,
    refund_of: transfer.refundOf,
    user_ref: transfer.userRef,
    operation: transfer.operation,
    hold_id: transfer.holdId,
    job_id: transfer.jobId,
    reference: transfer.reference,
    reason: transfer.reason,
    lots: storedShares(transfer.lots),
    debit_balance_after: transfer.debitBalanceAfter.toString(),
    credit_balance_after: transfer.creditBalanceAfter.toString(),
    debit_reserved_after: transfer.debitReservedAfter.toString(),
    credit_reserved_after: transfer.creditReservedAfter.toString(),
    created_at: transfer.createdAt.toISOString(),
  };
}

export function holdJson(hold: HoldState) {
  return {
    id: hold.id,
    user_ref: hold.userRef,
    operation: hold.operation,
    job_id: hold.jobId,
    funded_by: hold.fundedBy,
    amount: hold.amount.toString(),
    price_credits: hold.priceCredits.toString(),
    state: hold.state,
    pending_transfer_id: hold.pendingTransferId,
    resolution_transfer_id: hold.resolutionTransferId,
    posted_amount: hold.postedAmount?.toString() ?? null,
    resolution_reason: hold.resolutionReason,
    refund_transfer_id: hold.refundTransferId,
    expires_at: hold.expiresAt.toISOString(),
    created_at: hold.createdAt.toISOString(),
    resolved_at: hold.resolvedAt?.toISOString() ?? null,
  };
}

export function accountJson(account: AccountState) {
  return {
    id: account.id.toString(),
    debits_pending: account.debitsPending.toString(),
    debits_posted: account.debitsPosted.toString(),
    credits_pending: account.creditsPending.toString(),
    credits_posted: account.creditsPosted.toString(),
  };
}

export function keyJson(key: string, answer: StoredAnswer, at: Date) {
  return {
    key,
    command: answer.command,
    fingerprint: Buffer.from(answer.fingerprint).toString("hex"),
    result: answer.answer,
    created_at: at.toISOString(),
  };
}

export function eventJson(event: EncodedEvent) {
  return {
    event_id: event.eventId,
    subject: event.subject,
    payload: Buffer.from(event.payload).toString("hex"),
    created_at: event.createdAt.toISOString(),
  };
}
