import { Migration } from "@mikro-orm/migrations";

/**
 * Point-in-time balances (GetBalance as_of) and time-ranged statements, read from the transfers'
 * stored balances after them with one index seek per account side, never by replaying history.
 *
 * - `booked_at`: the instant a transfer was booked, from the database's clock when its INSERT
 *   arrived. Every writer holds the user's accounts locked when it inserts, so along an account's
 *   history (and along a user's) booked_at never decreases in seq, unlike `created_at` (the start of
 *   the transaction, or a test's clock). Existing rows take their created_at, raised where needed to
 *   the latest one before them in the user's history: the best record left.
 * - `debit_reserved_after` / `credit_reserved_after`: each side's reserved balance (debits_pending)
 *   after the transfer, next to the available balance already stored, so "reserved at t" is a seek
 *   as well. Existing rows are filled by replaying each account's pending movements once, here.
 */
export class Migration20261203001000TransferHistory extends Migration {
  override up(): void {
    this.addSql(`
      alter table ledger_transfers
        add column booked_at timestamptz not null default statement_timestamp(),
        add column debit_reserved_after bigint,
        add column credit_reserved_after bigint`);
    // Every transfer touching a user account names that user, so a running maximum per user keeps
    // each user's (and each user account's) history in order, as new rows will be.
    this.addSql(`
      update ledger_transfers t set booked_at = r.booked_at
        from (select seq, max(created_at) over (partition by user_ref order by seq) as booked_at
                from ledger_transfers) r
       where r.seq = t.seq`);
    // A side's debits_pending moves only on the debit side: a hold adds its amount, its resolution
    // takes back the whole pending amount. The credit side's value is that account's running total.
    this.addSql(`
      with sides as (
        select t.seq, t.debit_account_id as account_id,
               case when t.pending then t.amount when t.pending_id is not null then -p.amount else 0 end as d_pending
          from ledger_transfers t left join ledger_transfers p on p.id = t.pending_id
        union all
        select t.seq, t.credit_account_id, 0 from ledger_transfers t
      ),
      running as (
        select seq, account_id, sum(d_pending) over (partition by account_id order by seq) as reserved
          from sides
      )
      update ledger_transfers t
         set debit_reserved_after = d.reserved, credit_reserved_after = c.reserved
        from running d, running c
       where d.seq = t.seq and d.account_id = t.debit_account_id
         and c.seq = t.seq and c.account_id = t.credit_account_id`);
    // The updates queued the deferred foreign-key checks of the rows they touched; PostgreSQL alters
    // no table with checks pending, so run them now.
    this.addSql(`set constraints all immediate`);
    this.addSql(`
      alter table ledger_transfers
        alter column debit_reserved_after set not null,
        alter column credit_reserved_after set not null,
        add constraint ledger_transfers_reserved_after_non_negative
          check (debit_reserved_after >= 0 and credit_reserved_after >= 0)`);
    // An account's history in booked order: the latest transfer booked by an instant is one backward
    // seek per side, and a statement page one backward range scan. They replace the (account, seq)
    // indexes, which nothing reads any more, so the hot path keeps the same number of indexes.
    this.addSql(
      `create index ledger_transfers_debit_booked on ledger_transfers (debit_account_id, booked_at, seq)`,
    );
    this.addSql(
      `create index ledger_transfers_credit_booked on ledger_transfers (credit_account_id, booked_at, seq)`,
    );
    this.addSql(`drop index ledger_transfers_debit_history, ledger_transfers_credit_history`);
  }
}
