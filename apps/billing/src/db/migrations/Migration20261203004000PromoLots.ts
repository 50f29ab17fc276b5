import { Migration } from "@mikro-orm/migrations";

/**
 * Promo lots: credits granted with an expiry and a priority, spent before purchased credits. A lot
 * is a partition of its user's CREDITS account, not an account of its own: the account's balance is
 * still the one truth of what the user can spend, and the lots say which part of it is promo.
 *   - `balance`: value still on the lot, held included; `reserved`: of that, held by pending holds.
 *   - A lot is written only by a transaction that holds its user's accounts locked, so the account
 *     lock serializes lots as it serializes balances.
 *   - An EXPIRED lot keeps only what pending holds still hold (balance = reserved): value that
 *     returns to it later (a release, a refund) expires at once.
 * `ledger_transfers.lots` records which lots a transfer moved value of: [{"lot", "amount"}], the rest
 * of its amount being purchased credits. VerifyLedger replays the lots from it.
 */
export class Migration20261203004000PromoLots extends Migration {
  override up(): void {
    this.addSql(`
      create table credit_lots (
        id uuid primary key,
        user_ref text not null,
        account_id bigint not null references ledger_accounts (id),
        granted_credits bigint not null check (granted_credits > 0),
        balance bigint not null check (balance >= 0),
        reserved bigint not null default 0 check (reserved >= 0 and reserved <= balance),
        priority integer not null check (priority between 0 and 1000),
        expires_at timestamptz not null,
        state text not null check (state in ('ACTIVE', 'EXPIRED')),
        reason text not null,
        grant_transfer_id uuid not null unique references ledger_transfers (id) deferrable initially deferred,
        expiring_announced boolean not null default false,
        created_at timestamptz not null default now(),
        expired_at timestamptz,
        constraint credit_lots_expired_iff_expired_at check ((state = 'EXPIRED') = (expired_at is not null)),
        constraint credit_lots_expired_keeps_only_held check (state = 'ACTIVE' or balance = reserved)
      )`);
    // What every spending batch reads with its locks: a user's lots that are active or still hold value.
    this.addSql(
      `create index credit_lots_user_live on credit_lots (user_ref) where state = 'ACTIVE' or reserved > 0`,
    );
    // The expiry sweep reads due lots in expiry order.
    this.addSql(`create index credit_lots_active_expiry on credit_lots (expires_at) where state = 'ACTIVE'`);
    this.addSql(`alter table ledger_transfers add column lots jsonb`);
    this.addSql(`alter table ledger_transfers drop constraint ledger_transfers_kind_check`);
    this.addSql(`
      alter table ledger_transfers add constraint ledger_transfers_kind_check
        check (kind in ('STARTER_GRANT', 'GRANT', 'CHARGE', 'HOLD', 'HOLD_POSTED', 'HOLD_VOIDED',
          'HOLD_EXPIRED', 'REFUND', 'TOP_UP', 'PAYMENT_REFUND', 'CREDITS_EXPIRED'))`);
  }
}
