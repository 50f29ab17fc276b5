// VerifyLedger: recomputes every invariant of the ledger from the stored transfers, in one
// REPEATABLE READ snapshot so concurrent traffic cannot produce false alarms. The replay is SQL,
// written apart from the TypeScript arithmetic of the write path (rules/balances.ts), so a mistake in
// one is caught by the other; it pages through the accounts, so its memory does not grow with the
// ledger.
import { IsolationLevel } from "@mikro-orm/postgresql";
import type { Database, EntityManager } from "../../db/database.js";
import type { LedgerViolation, VerifyReport } from "../types.js";

/** A further invariant contributed by another module (e.g. payments credited exactly once). */
export type InvariantCheck = (em: EntityManager) => Promise<LedgerViolation[]>;

const ACCOUNT_PAGE = 1_000;
/** 1,000 pages of 1,000: a billion accounts, a bound no real ledger reaches. */
const MAX_ACCOUNT_PAGES = 1_000_000;
const MAX_VIOLATIONS = 100;

/**
 * Every transfer once per side it touches in the account range (after, last], with its effect
 * on that side: d_pending and d_posted (the side's pending and posted columns), d_available.
 * Resolutions take back the pending amount of the transfer they resolve and, when posted, post.
 */
const SIDES = `
  with sides as (
    select t.seq, t.id, t.debit_account_id as account_id, 'debit' as side, t.debit_balance_after as balance_after,
           t.kind, t.amount, t.pending, t.pending_id, p.amount as pending_amount
      from ledger_transfers t left join ledger_transfers p on p.id = t.pending_id
     where t.debit_account_id > ? and t.debit_account_id <= ?
    union all
    select t.seq, t.id, t.credit_account_id, 'credit', t.credit_balance_after,
           t.kind, t.amount, t.pending, t.pending_id, p.amount
      from ledger_transfers t left join ledger_transfers p on p.id = t.pending_id
     where t.credit_account_id > ? and t.credit_account_id <= ?
  ),
  effects as (
    select seq, id, account_id, side, balance_after,
           (case when pending then amount else 0 end)
             - (case when pending_id is not null then coalesce(pending_amount, 0) else 0 end) as d_pending,
           (case when not pending and (pending_id is null or kind = 'HOLD_POSTED') then amount else 0 end) as d_posted
      from sides
  )`;

const accountMismatchSql = `${SIDES}
  , sums as (
    select account_id,
           coalesce(sum(d_pending) filter (where side = 'debit'), 0) as debits_pending,
           coalesce(sum(d_posted) filter (where side = 'debit'), 0) as debits_posted,
           coalesce(sum(d_pending) filter (where side = 'credit'), 0) as credits_pending,
           coalesce(sum(d_posted) filter (where side = 'credit'), 0) as credits_posted
      from effects group by account_id
  )
  select a.owner_ref, a.asset,
         concat_ws(', ',
           case when a.debits_pending <> coalesce(s.debits_pending, 0) then 'debitsPending' end,
           case when a.debits_posted <> coalesce(s.debits_posted, 0) then 'debitsPosted' end,
           case when a.credits_pending <> coalesce(s.credits_pending, 0) then 'creditsPending' end,
           case when a.credits_posted <> coalesce(s.credits_posted, 0) then 'creditsPosted' end) as differing,
         (a.kind = 'USER' and a.credits_posted - a.debits_posted - a.debits_pending < 0) as negative,
         (a.credits_posted - a.debits_posted - a.debits_pending)::text as available
    from ledger_accounts a left join sums s on s.account_id = a.id
   where a.id > ? and a.id <= ?
     and (a.debits_pending <> coalesce(s.debits_pending, 0) or a.debits_posted <> coalesce(s.debits_posted, 0)
       or a.credits_pending <> coalesce(s.credits_pending, 0) or a.credits_posted <> coalesce(s.credits_posted, 0)
       or (a.kind = 'USER' and a.credits_posted - a.debits_posted - a.debits_pending < 0))
   limit ?`;

const balanceAfterSql = `${SIDES}
  select id, account_id::text as account_id, balance_after::text as balance_after, running::text as running
    from (select id, account_id, balance_after,
                 sum(case side when 'debit' then -d_posted - d_pending else d_posted end)
                   over (partition by account_id order by seq) as running
            from effects) replay
   where running <> balance_after
   limit ?`;

interface MismatchRow {
  owner_ref: string;
  asset: string;
  differing: string;
  negative: boolean;
  available: string;
}

interface DriftRow {
  id: string;
  account_id: string;
  balance_after: string;
  running: string;
}

export async function verifyLedger(
  db: Database,
  extraChecks: readonly InvariantCheck[] = [],
): Promise<VerifyReport> {
  return db.orm.em.fork().transactional(
    async (em) => {
      const violations: LedgerViolation[] = [];
      const report = (invariant: string, subject: string, description: string) => {
        if (violations.length < MAX_VIOLATIONS) violations.push({ invariant, subject, description });
      };

      // 1. For each asset, all balances sum to zero (posted and pending alike).
      const sums = await em.execute<{ asset: string; posted: string; pending: string }[]>(
        `select asset, sum(credits_posted - debits_posted)::text as posted, sum(credits_pending - debits_pending)::text as pending
           from ledger_accounts group by asset`,
      );
      for (const sum of sums) {
        if (sum.posted !== "0" || sum.pending !== "0") {
          report(
            "asset_sum_zero",
            sum.asset,
            `posted balances sum to ${sum.posted}, pending to ${sum.pending}`,
          );
        }
      }

      // 2-4. Page through the accounts (bounded memory: a page of accounts and at most
      // MAX_VIOLATIONS rows come back; PostgreSQL sums and orders the transfers): each stored
      // account equals the sum of its transfers, each balance_after equals the running balance, and
      // no user account is below zero.
      let accountsChecked = 0n;
      let afterId = "0";
      for (let pages = 0; pages < MAX_ACCOUNT_PAGES; pages++) {
        const [bounds] = await em.execute<{ last: string | null; count: string }[]>(
          `select max(id)::text as last, count(*)::text as count
             from (select id from ledger_accounts where id > ? order by id limit ?) page`,
          [afterId, ACCOUNT_PAGE],
        );
        if (bounds?.last == null) break;
        accountsChecked += BigInt(bounds.count);
        const range = [afterId, bounds.last];
        const mismatched = await em.execute<MismatchRow[]>(accountMismatchSql, [
          ...range,
          ...range,
          ...range,
          MAX_VIOLATIONS,
        ]);
        for (const row of mismatched) {
          if (row.differing !== "") {
            report(
              "account_matches_transfers",
              `${row.owner_ref}/${row.asset}`,
              `stored ${row.differing} differ from the sum of its transfers`,
            );
          }
          if (row.negative) {
            report(
              "no_negative_user_balance",
              `${row.owner_ref}/${row.asset}`,
              `available is ${row.available}`,
            );
          }
        }
        const drifted = await em.execute<DriftRow[]>(balanceAfterSql, [...range, ...range, MAX_VIOLATIONS]);
        for (const row of drifted) {
          report(
            "balance_after_replay",
            row.id,
            `stored balance after (${row.balance_after}) on account ${row.account_id} differs from the replay (${row.running})`,
          );
        }
        afterId = bounds.last;
      }
      const [transferCount] = await em.execute<{ count: string }[]>(
        `select count(*)::text as count from ledger_transfers`,
      );
      const transfersChecked = BigInt(transferCount?.count ?? "0");

      // 5. Reserved = the sum of open holds, per user account.
      const reservedMismatch = await em.execute<
        { owner_ref: string; asset: string; reserved: string; held: string }[]
      >(
        `select a.owner_ref, a.asset, a.debits_pending::text as reserved, coalesce(sum(h.amount), 0)::text as held
           from ledger_accounts a
           left join ledger_holds h on h.user_ref = a.owner_ref and h.state = 'PENDING'
                and h.funded_by = case a.asset when 'CREDITS' then 'CREDITS' else 'FREE_OPERATION' end
          where a.kind = 'USER'
          group by a.id
         having a.debits_pending <> coalesce(sum(h.amount), 0)`,
      );
      for (const row of reservedMismatch) {
        report(
          "reserved_matches_open_holds",
          `${row.owner_ref}/${row.asset}`,
          `reserved ${row.reserved}, open holds ${row.held}`,
        );
      }

      // 6. Every resolved hold is resolved by exactly one transfer of the matching kind.
      const badHolds = await em.execute<{ id: string; state: string; problem: string }[]>(
        `select h.id, h.state,
                case when h.state = 'PENDING' and r.id is not null then 'pending but resolved by ' || r.id
                     when h.state <> 'PENDING' and h.funded_by <> 'NONE' and r.id is null then 'resolved without a transfer'
                     when r.id is not null and r.kind <> ('HOLD_' || h.state)
                       then 'state ' || h.state || ' but resolved by ' || r.kind
                end as problem
           from ledger_holds h
           left join ledger_transfers r on r.pending_id = h.pending_transfer_id
          where (h.state = 'PENDING' and r.id is not null)
             or (h.state <> 'PENDING' and h.funded_by <> 'NONE' and r.id is null)
             or (r.id is not null and r.kind <> ('HOLD_' || h.state))`,
      );
      for (const hold of badHolds) report("hold_resolved_once", hold.id, hold.problem);
      // 7. A pending amount is posted or voided on the very accounts that hold it.
      const misrouted = await em.execute<{ id: string }[]>(
        `select r.id from ledger_transfers r join ledger_transfers p on p.id = r.pending_id
          where r.debit_account_id <> p.debit_account_id or r.credit_account_id <> p.credit_account_id`,
      );
      const dangling = await em.execute<{ id: string }[]>(
        `select r.id from ledger_transfers r left join ledger_transfers p on p.id = r.pending_id
          where r.pending_id is not null and (p.id is null or not p.pending) limit ?`,
        [MAX_VIOLATIONS],
      );
      for (const row of dangling) {
        report("hold_resolved_once", row.id, "resolves a transfer that is not a pending one");
      }
      for (const row of misrouted) {
        report(
          "resolution_matches_pending",
          row.id,
          "resolves a pending transfer on other accounts than it was placed on",
        );
      }
      const [holdCount] = await em.execute<{ count: string }[]>(
        `select count(*)::text as count from ledger_holds`,
      );

      for (const check of extraChecks)
        for (const violation of await check(em))
          report(violation.invariant, violation.subject, violation.description);

      return {
        ok: violations.length === 0,
        violations,
        accountsChecked,
        transfersChecked,
        holdsChecked: BigInt(holdCount?.count ?? "0"),
      };
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );
}
