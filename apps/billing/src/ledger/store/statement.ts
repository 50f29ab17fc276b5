// A user's statement: the transfers that touched their accounts, newest first, each with the change
// of the available balance and the balance after it. Paged by an opaque token (the last seq seen).
import type { EntityManager } from "../../db/database.js";
import type { AssetCode, TransferKind } from "../../domain/ledger-codes.js";
import { DomainError } from "../../domain/errors.js";
import type { AccountDirectory } from "./accounts.js";
import type { Statement, StatementEntry } from "../types.js";

export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 100;

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
}

export async function readStatement(
  em: EntityManager,
  accounts: AccountDirectory,
  request: { userRef: string; pageSize: number; pageToken: string },
): Promise<Statement> {
  const pageSize = request.pageSize === 0 ? PAGE_SIZE_DEFAULT : request.pageSize;
  const before = decodePageToken(request.pageToken);
  const { credits, freeOperations } = await accounts.read(em, request.userRef);
  const userAccountIds = new Set([credits.id.toString(), freeOperations.id.toString()]);
  const rows = await em.execute<Row[]>(
    `select t.seq, t.id, t.kind, t.asset, t.amount, p.amount as pending_amount,
            t.debit_account_id, t.credit_account_id, t.debit_balance_after, t.credit_balance_after,
            t.operation, t.hold_id, t.job_id, t.reference, t.reason, t.created_at
       from ledger_transfers t
       left join ledger_transfers p on p.id = t.pending_id
      where (t.debit_account_id in (?, ?) or t.credit_account_id in (?, ?)) and t.seq < ?
      order by t.seq desc
      limit ?`,
    [credits.id, freeOperations.id, credits.id, freeOperations.id, before, pageSize + 1],
  );
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
    };
  });
  const last = page.at(-1);
  return {
    entries,
    nextPageToken: rows.length > pageSize && last !== undefined ? encodePageToken(BigInt(last.seq)) : "",
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

function encodePageToken(seq: bigint): string {
  return Buffer.from(`seq:${seq}`).toString("base64url");
}

function decodePageToken(token: string): bigint {
  if (token === "") return 2n ** 63n - 1n;
  const match = /^seq:(\d{1,19})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (match?.[1] === undefined) {
    throw new DomainError("INVALID_FIELD", "page_token is not a token from a previous response", {
      fieldViolations: [
        { field: "page_token", description: "malformed; pass next_page_token from a previous response" },
      ],
    });
  }
  return BigInt(match[1]);
}
