// A user's statement: the transfers that touched their accounts, newest first, each with the change
// of the available balance and the balance after it, narrowed by a filter (time range, kinds,
// operation, reference). Paged by keyset on (booked_at, seq), which is seq order along a user's
// history (booked_at never decreases there; VerifyLedger checks it) and lets every scan run on one
// index, (account, booked_at, seq), with the time range as its bounds. A new transfer is booked
// under the user's locks, after every earlier one, so it never shows up on a later page, and no
// entry is skipped or repeated while transfers arrive. The token carries the last entry's key and a
// digest of the user and the filter, so it cannot be replayed with another filter.
import { hash } from "node:crypto";
import type { EntityManager } from "../../db/database.js";
import type { AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import { DomainError } from "../../domain/errors.js";
import type { AccountDirectory } from "./accounts.js";
import { INSTANT } from "./history.js";
import { sharesOfStored } from "../rules/transfers.js";
import type { Micros, Statement, StatementEntry, StatementFilter, StatementQuery } from "../types.js";

export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 100;

/** Where a page starts: below this entry (newest first). */
interface Cursor {
  bookedAtMicros: Micros;
  seq: bigint;
}

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
  lots: { lot: string; amount: string }[] | null;
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
  const cursor = decodePageToken(query.pageToken, digest);
  const { credits, freeOperations } = await accounts.read(em, query.userRef);
  const accountIds = [credits.id, freeOperations.id] as const;
  const userAccountIds = new Set(accountIds.map(String));
  const { sql, bindings } = pageQuery(accountIds, query.filter, cursor, pageSize);
  const rows = await em.execute<Row[]>(sql, bindings);
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
      lots: sharesOfStored(row.lots),
    };
  });
  const last = page.at(-1);
  return {
    entries,
    nextPageToken:
      rows.length > pageSize && last !== undefined
        ? encodePageToken({ bookedAtMicros: BigInt(last.booked_at_micros), seq: BigInt(last.seq) }, digest)
        : "",
  };
}

/**
 * Up to pageSize + 1 entries below the cursor, newest first: one backward range scan of each
 * account side's (account, booked_at, seq) index, merged, so no page ever sorts or walks the whole
 * history for its time range (exported for EXPLAIN in tests).
 */
export function pageQuery(
  accountIds: readonly [bigint, bigint],
  filter: StatementFilter,
  cursor: Cursor | undefined,
  pageSize: number,
): { sql: string; bindings: (string | number)[] } {
  const conditions: string[] = [];
  const values: (string | number)[] = [];
  if (cursor !== undefined) {
    conditions.push(`(t.booked_at, t.seq) < (${INSTANT}, ?)`);
    values.push(cursor.bookedAtMicros.toString(), cursor.seq.toString());
  }
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
      branches.push(`(select t.seq, t.booked_at from ledger_transfers t
          where ${[`t.${side}_account_id = ?`, ...conditions].join(" and ")}
          order by t.booked_at desc, t.seq desc limit ?)`);
      bindings.push(accountId.toString(), ...values, pageSize + 1);
    }
  }
  return {
    sql: `select t.seq, t.id, t.kind, t.asset, t.amount, p.amount as pending_amount,
            t.debit_account_id, t.credit_account_id, t.debit_balance_after, t.credit_balance_after,
            t.operation, t.hold_id, t.job_id, t.reference, t.reason, t.lots, t.created_at,
            floor(extract(epoch from t.booked_at) * 1000000)::bigint::text as booked_at_micros
       from (select seq, booked_at from (${branches.join(" union all ")}) sides
              order by booked_at desc, seq desc limit ?) page
       join ledger_transfers t on t.seq = page.seq
       left join ledger_transfers p on p.id = t.pending_id
      order by page.booked_at desc, page.seq desc`,
    bindings: [...bindings, pageSize + 1],
  };
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
  return hash("sha256", canonical, "base64url").slice(0, 22);
}

function encodePageToken(cursor: Cursor, digest: string): string {
  return Buffer.from(`s2:${cursor.bookedAtMicros}:${cursor.seq}:${digest}`).toString("base64url");
}

/** Where to read below; a token of another user or filter is refused, never reinterpreted. */
function decodePageToken(token: string, digest: string): Cursor | undefined {
  if (token === "") return undefined;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const match = /^s2:(\d{1,19}):(\d{1,19}):([A-Za-z0-9_-]{22})$/.exec(text);
  if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) {
    throw pageTokenError("malformed; pass next_page_token from a previous response");
  }
  if (match[3] !== digest) {
    throw pageTokenError(
      "was issued for another user_ref or other filters; repeat those of the first page, or start without page_token",
    );
  }
  return { bookedAtMicros: BigInt(match[1]), seq: BigInt(match[2]) };
}

function pageTokenError(description: string): DomainError {
  return new DomainError("INVALID_FIELD", `page_token ${description}`, {
    fieldViolations: [{ field: "page_token", description }],
  });
}
