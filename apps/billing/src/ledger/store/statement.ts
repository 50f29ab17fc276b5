// A user's statement: the transfers that touched their accounts, newest first, each with the change
// of the available balance and the balance after it, narrowed by a filter (time range, kinds,
// operation, reference). Paged by keyset on seq: a new transfer always takes a seq above every
// earlier one of the user (it is inserted under the user's locks), so it never shows up on a later
// page, and no entry is skipped or repeated while transfers arrive. The token carries the last seq
// seen and a digest of the user and the filter, so it cannot be replayed with another filter.
import { createHash } from "node:crypto";
import type { EntityManager } from "../../db/database.js";
import type { AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import { DomainError } from "../../domain/errors.js";
import type { AccountDirectory } from "./accounts.js";
import { INSTANT, seqBookedBefore } from "./history.js";
import type { Statement, StatementEntry, StatementFilter, StatementQuery } from "../types.js";

export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 100;
const SEQ_MAX = 2n ** 63n - 1n;

interface Row {
  seq: string;
  id: string;
  kind: TransferKind;
  asset: AssetCode;
  amount: string;
  pending_amount: string | null;
  debit_account_id: string;
  credit_account_id: string;
  debit_balance_after: string;
  credit_balance_after: string;
  operation: string | null;
  hold_id: string | null;
  job_id: string | null;
  reference: string | null;
  reason: string | null;
  created_at: Date | string;
  booked_at_micros: string;
}

export async function readStatement(
  em: EntityManager,
  accounts: AccountDirectory,
  query: StatementQuery,
): Promise<Statement> {
  const pageSize = query.pageSize === 0 ? PAGE_SIZE_DEFAULT : query.pageSize;
  const digest = filterDigest(query.userRef, query.filter);
  const before = decodePageToken(query.pageToken, digest);
  const { credits, freeOperations } = await accounts.read(em, query.userRef);
  const accountIds = [credits.id, freeOperations.id] as const;
  const userAccountIds = new Set(accountIds.map(String));
  const range = await seqRange(em, accountIds, query.filter);
  const upper = before - 1n < range.last ? before - 1n : range.last;
  const rows =
    upper <= range.after ? [] : await pageRows(em, accountIds, query.filter, range.after, upper, pageSize);
  const page = rows.slice(0, pageSize);
  const entries = page.map((row): StatementEntry => {
    const userIsCredited = userAccountIds.has(String(row.credit_account_id));
    const amount = BigInt(row.amount);
    return {
      transferId: row.id,
      kind: row.kind,
      asset: row.asset,
      amount: userIsCredited ? amount : debitSideChange(row.kind, amount, row.pending_amount),
      balanceAfter: BigInt(userIsCredited ? row.credit_balance_after : row.debit_balance_after),
      operation: row.operation ?? "",
      holdId: row.hold_id ?? "",
      jobId: row.job_id ?? "",
      reference: row.reference ?? row.reason ?? "",
      createdAt: new Date(row.created_at),
      bookedAtMicros: BigInt(row.booked_at_micros),
    };
  });
  const last = page.at(-1);
  return {
    entries,
    nextPageToken:
      rows.length > pageSize && last !== undefined ? encodePageToken(BigInt(last.seq), digest) : "",
  };
}

/**
 * The user's seqs booked in [start, end): (after, last]. booked_at never decreases along a user's
 * history, so two index seeks bound the time range however long the history is.
 */
async function seqRange(
  em: EntityManager,
  accountIds: readonly [bigint, bigint],
  filter: StatementFilter,
): Promise<{ after: bigint; last: bigint }> {
  const after =
    filter.startMicros === undefined ? 0n : await seqBookedBefore(em, accountIds, filter.startMicros);
  const last =
    filter.endMicros === undefined ? SEQ_MAX : await seqBookedBefore(em, accountIds, filter.endMicros);
  return { after, last };
}

/**
 * Up to pageSize + 1 entries with seq in (after, upper], newest first: one backward scan of each
 * account side's (account, seq) index, merged, so the newest page never sorts the whole history.
 */
async function pageRows(
  em: EntityManager,
  accountIds: readonly [bigint, bigint],
  filter: StatementFilter,
  after: bigint,
  upper: bigint,
  pageSize: number,
): Promise<Row[]> {
  const conditions = ["t.seq > ?", "t.seq <= ?"];
  const values: (string | number)[] = [after.toString(), upper.toString()];
  if (filter.startMicros !== undefined) {
    conditions.push(`t.booked_at >= ${INSTANT}`);
    values.push(filter.startMicros.toString());
  }
  if (filter.endMicros !== undefined) {
    conditions.push(`t.booked_at < ${INSTANT}`);
    values.push(filter.endMicros.toString());
  }
  if (filter.kinds.length > 0) {
    conditions.push(`t.kind in (${filter.kinds.map(() => "?").join(", ")})`);
    values.push(...filter.kinds);
  }
  if (filter.operation !== "") {
    conditions.push("t.operation = ?");
    values.push(filter.operation);
  }
  if (filter.reference !== "") {
    conditions.push("coalesce(t.reference, t.reason) = ?");
    values.push(filter.reference);
  }
  const branches: string[] = [];
  const bindings: (string | number)[] = [];
  for (const side of ["debit", "credit"] as const) {
    for (const accountId of accountIds) {
      branches.push(`(select t.seq from ledger_transfers t
          where t.${side}_account_id = ? and ${conditions.join(" and ")}
          order by t.seq desc limit ?)`);
      bindings.push(accountId.toString(), ...values, pageSize + 1);
    }
  }
  return em.execute<Row[]>(
    `select t.seq, t.id, t.kind, t.asset, t.amount, p.amount as pending_amount,
            t.debit_account_id, t.credit_account_id, t.debit_balance_after, t.credit_balance_after,
            t.operation, t.hold_id, t.job_id, t.reference, t.reason, t.created_at,
            floor(extract(epoch from t.booked_at) * 1000000)::bigint::text as booked_at_micros
       from (select seq from (${branches.join(" union all ")}) sides order by seq desc limit ?) page
       join ledger_transfers t on t.seq = page.seq
       left join ledger_transfers p on p.id = t.pending_id
      order by t.seq desc`,
    [...bindings, pageSize + 1],
  );
}

/** How a transfer on the debit side changes the user's available balance. */
function debitSideChange(kind: TransferKind, amount: bigint, pendingAmount: string | null): bigint {
  switch (kind) {
    case "HOLD_POSTED":
      // The held amount was already out of "available"; posting less returns the rest.
      return BigInt(pendingAmount ?? amount.toString()) - amount;
    case "HOLD_VOIDED":
    case "HOLD_EXPIRED":
      return amount;
    default:
      return -amount;
  }
}

/** Binds a page token to the user and the filter (kinds as a set: their order does not matter). */
function filterDigest(userRef: string, filter: StatementFilter): string {
  const canonical = JSON.stringify([
    userRef,
    filter.startMicros?.toString() ?? "",
    filter.endMicros?.toString() ?? "",
    [...new Set(filter.kinds)].sort(),
    filter.operation,
    filter.reference,
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 22);
}

function encodePageToken(seq: bigint, digest: string): string {
  return Buffer.from(`s2:${seq}:${digest}`).toString("base64url");
}

/** The seq to read below; a token of another user or filter is refused, never reinterpreted. */
function decodePageToken(token: string, digest: string): bigint {
  if (token === "") return SEQ_MAX;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const match = /^s2:(\d{1,19}):([A-Za-z0-9_-]{22})$/.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw pageTokenError("malformed; pass next_page_token from a previous response");
  }
  if (match[2] !== digest) {
    throw pageTokenError(
      "was issued for another user_ref or other filters; repeat those of the first page, or start without page_token",
    );
  }
  return BigInt(match[1]);
}

function pageTokenError(description: string): DomainError {
  return new DomainError("INVALID_FIELD", `page_token ${description}`, {
    fieldViolations: [{ field: "page_token", description }],
  });
}
