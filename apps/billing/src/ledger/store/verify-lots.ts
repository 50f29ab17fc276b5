// VerifyLedger's promo-lot invariants, replayed in SQL from the lot shares the transfers carry
// (ledger_transfers.lots), apart from the TypeScript rules that wrote them (rules/lots.ts):
//   1. each lot's balance = its grant + refunds to it − charges, posted holds and expiries from it;
//   2. each lot's reserved = the shares of its pending holds;
//   3. a user's lots never hold more than the account: their available part ≤ the account's
//      available, their reserved part ≤ its pending debits;
//   4. a transfer's shares are of CREDITS, name existing lots of its user, and sum to ≤ its amount.
// Plain SQL in VerifyLedger's snapshot; each query answers violations only (bounded).
import type { EntityManager } from "../../db/database.js";
import type { LedgerViolation } from "../types.js";
import type { InvariantCheck } from "./verify.js";

const LIMIT = 100;

const SHARES = `select t.id, t.kind, t.asset, t.amount, t.user_ref, t.hold_id, t.pending,
                       (s->>'lot')::uuid as lot_id, (s->>'amount')::bigint as share
                  from ledger_transfers t cross join lateral jsonb_array_elements(t.lots) s
                 where t.lots is not null`;

export const verifyLots: InvariantCheck = async (em: EntityManager): Promise<LedgerViolation[]> => {
  const violations: LedgerViolation[] = [];
  /** One violation per offending row, named by its id. */
  const report = <R extends { id: string }>(
    invariant: string,
    rows: readonly R[],
    describe: (row: R) => string,
  ) => {
    for (const row of rows) violations.push({ invariant, subject: row.id, description: describe(row) });
  };
  const replayed = await em.execute<
    { id: string; balance: string; reserved: string; b: string; r: string }[]
  >(
    `with shares as (${SHARES}),
     moved as (
       select lot_id,
              coalesce(sum(case when kind in ('GRANT', 'REFUND') then share
                                when kind in ('CHARGE', 'HOLD_POSTED', 'CREDITS_EXPIRED') then -share
                                else 0 end), 0) as balance
         from shares group by lot_id),
     held as (
       select s.lot_id, sum(s.share) as reserved
         from shares s join ledger_holds h on h.pending_transfer_id = s.id
        where s.pending and h.state = 'PENDING' group by s.lot_id)
     select l.id::text as id, l.balance::text as balance, l.reserved::text as reserved,
            coalesce(m.balance, 0)::text as b, coalesce(h.reserved, 0)::text as r
       from credit_lots l left join moved m on m.lot_id = l.id left join held h on h.lot_id = l.id
      where l.balance <> coalesce(m.balance, 0) or l.reserved <> coalesce(h.reserved, 0)
      order by l.id limit ?`,
    [LIMIT],
  );
  report(
    "lot_matches_transfers",
    replayed,
    (row) =>
      `lot holds balance ${row.balance} / reserved ${row.reserved}, its transfers say ${row.b} / ${row.r}`,
  );

  const overLots = await em.execute<{ id: string; owner_ref: string }[]>(
    `select a.id::text as id, a.owner_ref
       from ledger_accounts a
       join (select account_id,
                    sum(case when state = 'ACTIVE' then balance - reserved else 0 end) as available,
                    sum(reserved) as reserved
               from credit_lots group by account_id) l on l.account_id = a.id
      where l.available > a.credits_posted - a.debits_posted - a.debits_pending
         or l.reserved > a.debits_pending
      order by a.id limit ?`,
    [LIMIT],
  );
  report(
    "lots_within_account",
    overLots,
    (row) => `the promo lots of ${row.owner_ref} hold more than the account`,
  );

  const badShares = await em.execute<{ id: string }[]>(
    `with shares as (${SHARES})
     select s.id::text as id from shares s left join credit_lots l on l.id = s.lot_id
      group by s.id, s.amount, s.asset
     having sum(s.share) > s.amount or s.asset <> 'CREDITS' or bool_or(l.id is null)
         or bool_or(l.user_ref <> s.user_ref) or bool_or(s.share <= 0)
      order by s.id limit ?`,
    [LIMIT],
  );
  report(
    "lot_shares_well_formed",
    badShares,
    () => "the transfer's lot shares exceed its amount, are not credits, or name another user's lot",
  );
  return violations;
};
