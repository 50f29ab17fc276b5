// VerifyLedger's checks of what point-in-time reads rely on (store/history.ts): each transfer's
// stored reserved balance after it equals the replay of its account's pending movements, and
// booked_at never decreases along a user's history. Each answers at most
// MAX_VIOLATIONS rows; PostgreSQL does the sorting, so memory does not grow with the ledger.
import type { EntityManager } from "../../db/database.js";
import type { LedgerViolation } from "../types.js";

const MAX_VIOLATIONS = 100;

/** Each transfer once per side, with that side's stored reserved-after and its pending movement. */
const reservedReplaySql = `
  with sides as (
    select t.seq, t.id, t.debit_account_id as account_id, t.debit_reserved_after as reserved_after,
           case when t.pending then t.amount when t.pending_id is not null then -p.amount else 0 end as d_pending
      from ledger_transfers t left join ledger_transfers p on p.id = t.pending_id
    union all
    select t.seq, t.id, t.credit_account_id, t.credit_reserved_after, 0 from ledger_transfers t
  )
  select id, account_id::text as account_id, reserved_after::text as reserved_after, running::text as running
    from (select id, account_id, reserved_after,
                 sum(d_pending) over (partition by account_id order by seq) as running
            from sides) replay
   where running <> reserved_after
   limit ?`;

/**
 * Transfers booked earlier than the one before them in their user's history (every transfer that
 * touches a user account names that user): what as_of and statement time ranges read in order.
 */
const bookedOrderSql = `
  select id, user_ref, booked_at::text as booked_at, previous::text as previous
    from (select id, user_ref, booked_at,
                 lag(booked_at) over (partition by user_ref order by seq) as previous
            from ledger_transfers) ordered
   where previous > booked_at
   limit ?`;

export async function verifyHistory(em: EntityManager): Promise<LedgerViolation[]> {
  const violations: LedgerViolation[] = [];
  const drifted = await em.execute<
    { id: string; account_id: string; reserved_after: string; running: string }[]
  >(reservedReplaySql, [MAX_VIOLATIONS]);
  for (const row of drifted) {
    violations.push({
      invariant: "reserved_after_replay",
      subject: row.id,
      description: `stored reserved after (${row.reserved_after}) on account ${row.account_id} differs from the replay (${row.running})`,
    });
  }
  const disordered = await em.execute<
    { id: string; user_ref: string; booked_at: string; previous: string }[]
  >(bookedOrderSql, [MAX_VIOLATIONS]);
  for (const row of disordered) {
    violations.push({
      invariant: "booked_in_order",
      subject: row.id,
      description: `booked at ${row.booked_at}, before the previous transfer of ${row.user_ref} (${row.previous})`,
    });
  }
  return violations;
}
