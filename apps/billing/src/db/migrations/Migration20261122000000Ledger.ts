import { Migration } from "@mikro-orm/migrations";

/**
 * The ledger: accounts with TigerBeetle-style pending/posted columns, immutable transfers with the
 * balance after each side, two-phase holds, idempotency keys and the event outbox. The database
 * itself refuses impossible states (negative user balances, a hold resolved twice, a charge
 * refunded twice, a transfer of nothing). References between rows written in one transaction are
 * checked at commit (deferred), so the order in which the ORM flushes them does not matter.
 */
export class Migration20261122000000Ledger extends Migration {
  override up(): void {
    this.addSql(`
      create table ledger_accounts (
        id bigint generated always as identity primary key,
        owner_ref text not null,
        asset text not null check (asset in ('CREDITS', 'FREE_OPERATIONS')),
        kind text not null check (kind in ('USER', 'SYSTEM')),
        shard smallint not null default 0 check (shard >= 0),
        debits_pending bigint not null default 0 check (debits_pending >= 0),
        debits_posted bigint not null default 0 check (debits_posted >= 0),
        credits_pending bigint not null default 0 check (credits_pending >= 0),
        credits_posted bigint not null default 0 check (credits_posted >= 0),
        created_at timestamptz not null default now(),
        constraint ledger_accounts_owner_asset_shard_unique unique (owner_ref, asset, shard),
        constraint ledger_accounts_user_not_overdrawn
          check (kind <> 'USER' or credits_posted - debits_posted - debits_pending >= 0),
        constraint ledger_accounts_user_unsharded check (kind <> 'USER' or shard = 0)
      )`);

    this.addSql(`
      create table ledger_transfers (
        seq bigint generated always as identity primary key,
        id uuid not null unique,
        kind text not null check (kind in ('STARTER_GRANT', 'GRANT', 'CHARGE', 'HOLD', 'HOLD_POSTED',
          'HOLD_VOIDED', 'HOLD_EXPIRED', 'REFUND', 'TOP_UP', 'PAYMENT_REFUND')),
        asset text not null check (asset in ('CREDITS', 'FREE_OPERATIONS')),
        debit_account_id bigint not null references ledger_accounts (id),
        credit_account_id bigint not null references ledger_accounts (id),
        amount bigint not null check (amount > 0),
        pending boolean not null default false,
        pending_id uuid references ledger_transfers (id) deferrable initially deferred,
        refund_of uuid references ledger_transfers (id) deferrable initially deferred,
        user_ref text not null,
        operation text,
        hold_id uuid,
        job_id text,
        reference text,
        reason text,
        debit_balance_after bigint not null,
        credit_balance_after bigint not null,
        created_at timestamptz not null default now(),
        constraint ledger_transfers_distinct_accounts check (debit_account_id <> credit_account_id),
        constraint ledger_transfers_pending_is_hold check (pending = (kind = 'HOLD')),
        constraint ledger_transfers_resolution_names_hold
          check ((pending_id is not null) = (kind in ('HOLD_POSTED', 'HOLD_VOIDED', 'HOLD_EXPIRED'))),
        constraint ledger_transfers_refund_names_charge check ((refund_of is not null) = (kind = 'REFUND'))
      )`);
    // A pending transfer is resolved at most once; a charge is refunded at most once.
    this.addSql(
      `create unique index ledger_transfers_resolved_once on ledger_transfers (pending_id) where pending_id is not null`,
    );
    this.addSql(
      `create unique index ledger_transfers_refunded_once on ledger_transfers (refund_of) where refund_of is not null`,
    );
    // Statements read an account's history newest first.
    this.addSql(`create index ledger_transfers_debit_history on ledger_transfers (debit_account_id, seq)`);
    this.addSql(`create index ledger_transfers_credit_history on ledger_transfers (credit_account_id, seq)`);

    this.addSql(`
      create table ledger_holds (
        id uuid primary key,
        user_ref text not null,
        operation text not null,
        job_id text,
        funded_by text not null check (funded_by in ('NONE', 'FREE_OPERATION', 'CREDITS')),
        amount bigint not null check (amount >= 0),
        price_credits bigint not null check (price_credits >= 0),
        state text not null check (state in ('PENDING', 'POSTED', 'VOIDED', 'EXPIRED')),
        pending_transfer_id uuid unique references ledger_transfers (id) deferrable initially deferred,
        resolution_transfer_id uuid unique references ledger_transfers (id) deferrable initially deferred,
        posted_amount bigint check (posted_amount >= 0 and posted_amount <= amount),
        resolution_reason text,
        refund_transfer_id uuid unique references ledger_transfers (id) deferrable initially deferred,
        expires_at timestamptz not null,
        created_at timestamptz not null default now(),
        resolved_at timestamptz,
        constraint ledger_holds_resolved_iff_not_pending check ((state = 'PENDING') = (resolved_at is null)),
        constraint ledger_holds_funded_iff_transfer check ((funded_by = 'NONE') = (pending_transfer_id is null)),
        constraint ledger_holds_posted_amount_iff_posted check ((state = 'POSTED') = (posted_amount is not null))
      )`);
    // The expiry sweep reads due pending holds in expiry order.
    this.addSql(
      `create index ledger_holds_pending_expiry on ledger_holds (expires_at) where state = 'PENDING'`,
    );
    this.addSql(`create index ledger_holds_user on ledger_holds (user_ref, created_at)`);

    this.addSql(`
      create table idempotency_keys (
        key text primary key check (length(key) between 1 and 200),
        command text not null,
        fingerprint bytea not null,
        result jsonb not null,
        created_at timestamptz not null default now()
      )`);

    this.addSql(`
      create table outbox_events (
        id bigint generated always as identity primary key,
        event_id uuid not null unique,
        subject text not null,
        payload bytea not null,
        created_at timestamptz not null default now(),
        published_at timestamptz
      )`);
    this.addSql(`create index outbox_events_unpublished on outbox_events (id) where published_at is null`);
  }
}
