// Point-in-time reads: a user's balance as it was at an instant (GetBalance as_of), from the
// balances stored after the latest transfer booked by then: one backward index seek per account side
// (ledger_transfers_{debit,credit}_booked), so the cost grows with log(history), never with it.
//
// What "as it was at t" means: the balance after every transfer *booked* at or before t. A transfer
// is booked (booked_at, the database's clock) when its INSERT arrives, while its writer holds the
// user's accounts locked, and becomes visible when that writer commits, a commit's latency later.
// So a call answered before t is included, a call that reached the database after t is not, and
// along a user's history booked_at never decreases (VerifyLedger checks it). The read first
// takes a share lock on the user's accounts, which waits for a writer that is between booking and
// commit: the answer for a past instant is therefore final and never changes afterwards.
import type { Database } from "../../db/database.js";
import type { AssetCode } from "../../domain/ledger-codes.js";
import { DomainError } from "../../domain/errors.js";
import { accountNotFound } from "../rules/errors.js";
import type { Balance, Micros } from "../types.js";

/** `?` as a timestamptz, exactly (no trip through a float). */
export const INSTANT = `(timestamptz 'epoch' + ?::bigint * interval '1 microsecond')`;

const BOOKED_BY = `booked_at <= ${INSTANT}`;

/** Each account's latest transfer booked at or before an instant, from both of its sides. */
const HEAD_SQL = `select a.id::text as account_id, a.asset, h.seq::text as seq,
                 h.balance_after::text as balance_after, h.reserved_after::text as reserved_after,
                 floor(extract(epoch from clock_timestamp()) * 1000000)::bigint::text as now_micros
            from ledger_accounts a
            left join lateral (
              select * from (
                (select d.seq, d.booked_at, d.debit_balance_after as balance_after,
                        d.debit_reserved_after as reserved_after
                   from ledger_transfers d where d.debit_account_id = a.id and d.${BOOKED_BY}
                  order by d.booked_at desc, d.seq desc limit 1)
                union all
                (select c.seq, c.booked_at, c.credit_balance_after, c.credit_reserved_after
                   from ledger_transfers c where c.credit_account_id = a.id and c.${BOOKED_BY}
                  order by c.booked_at desc, c.seq desc limit 1)
              ) sides order by booked_at desc, seq desc limit 1
            ) h on true
           where a.id in (?, ?)`;

interface HeadRow {
  account_id: string;
  asset: AssetCode;
  seq: string | null;
  balance_after: string | null;
  reserved_after: string | null;
  now_micros: string;
}

/** The head query with its bindings, for the two accounts of a user (exported for EXPLAIN in tests). */
export function headQuery(
  accountIds: readonly [bigint, bigint],
  at: Micros,
): { sql: string; bindings: string[] } {
  return {
    sql: HEAD_SQL,
    bindings: [at.toString(), at.toString(), accountIds[0].toString(), accountIds[1].toString()],
  };
}

/**
 * The user's balance as it was at `asOf`: zero before their first transfer. Refuses an instant
 * after the ledger's clock (its answer could still change) with INVALID_FIELD on `as_of`.
 */
export async function readBalanceAsOf(db: Database, userRef: string, asOf: Micros): Promise<Balance> {
  return db.transaction(async (tx) => {
    // READ COMMITTED: the next statement's snapshot is taken after the lock, so it sees every
    // writer that was booking on these accounts when we asked.
    const accounts = await tx.execute<{ id: string; asset: AssetCode }[]>(
      `select id::text as id, asset from ledger_accounts where kind = 'USER' and owner_ref = ?
        order by id for share`,
      [userRef],
    );
    const credits = accounts.find((a) => a.asset === "CREDITS");
    const freeOperations = accounts.find((a) => a.asset === "FREE_OPERATIONS");
    if (credits === undefined || freeOperations === undefined) throw accountNotFound(userRef);
    const { sql, bindings } = headQuery([BigInt(credits.id), BigInt(freeOperations.id)], asOf);
    const rows = await tx.execute<HeadRow[]>(sql, bindings);
    const now = BigInt(rows[0]?.now_micros ?? "0");
    if (asOf > now) {
      throw new DomainError("INVALID_FIELD", "as_of is in the future", {
        fieldViolations: [
          {
            field: "as_of",
            description: `is after the ledger's clock (${isoOf(now)}); omit it for the balance now`,
          },
        ],
      });
    }
    const side = (asset: AssetCode) => rows.find((row) => row.asset === asset);
    const creditsAt = side("CREDITS");
    const freeAt = side("FREE_OPERATIONS");
    return {
      creditsAvailable: BigInt(creditsAt?.balance_after ?? "0"),
      creditsReserved: BigInt(creditsAt?.reserved_after ?? "0"),
      freeOperationsAvailable: BigInt(freeAt?.balance_after ?? "0"),
      freeOperationsReserved: BigInt(freeAt?.reserved_after ?? "0"),
    };
  });
}

function isoOf(instant: Micros): string {
  const millis = instant / 1000n;
  const iso = new Date(Number(millis)).toISOString();
  const micros = ((instant % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return `${iso.slice(0, 19)}.${micros.toString().padStart(6, "0")}Z`;
}
