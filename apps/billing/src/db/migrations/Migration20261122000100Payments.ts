import { Migration } from "@mikro-orm/migrations";

/**
 * Payments (YooKassa top-ups and plan purchases) and their refunds. Each row carries billing's own
 * Idempotence-Key for YooKassa, stored before the first call so every retry reuses it, and the exact
 * request body, so a resumed call sends the same bytes. The database refuses what must never happen:
 * a payment credited twice (one TOP_UP transfer per payment, one credit transfer per payment), a
 * succeeded payment without its credit, a provider id on two payments, more refunded than paid.
 */
export class Migration20261122000100Payments extends Migration {
  override up(): void {
    this.addSql(`
      create table payments (
        seq bigint generated always as identity primary key,
        id uuid not null unique,
        user_ref text not null check (length(user_ref) between 1 and 128),
        purpose text not null check (purpose in ('CREDITS', 'PLAN')),
        package_code text,
        plan_code text,
        amount_minor bigint not null check (amount_minor > 0),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        credits bigint not null check (credits >= 0),
        status text not null
          check (status in ('CREATING', 'PENDING', 'WAITING_FOR_CAPTURE', 'SUCCEEDED', 'CANCELED')),
        request_key text not null unique,
        idempotence_key text not null unique check (idempotence_key ~ '^[0-9A-Za-z+_.-]{1,64}$'),
        create_request jsonb not null,
        provider_payment_id text unique,
        confirmation_url text,
        test boolean,
        cancellation_party text,
        cancellation_reason text,
        refunded_amount_minor bigint not null default 0
          check (refunded_amount_minor >= 0 and refunded_amount_minor <= amount_minor),
        credit_transfer_id uuid unique references ledger_transfers (id) deferrable initially deferred,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        credited_at timestamptz,
        next_sync_at timestamptz,
        constraint payments_purpose_fields check (
          (purpose = 'CREDITS' and credits > 0 and plan_code is null)
          or (purpose = 'PLAN' and credits = 0 and plan_code is not null)),
        constraint payments_provider_id_after_create
          check (status = 'CANCELED' or (status = 'CREATING') = (provider_payment_id is null)),
        constraint payments_credited_iff_succeeded check ((status = 'SUCCEEDED') = (credited_at is not null)),
        constraint payments_credit_transfer_iff_credited
          check (purpose <> 'CREDITS' or (status = 'SUCCEEDED') = (credit_transfer_id is not null)),
        constraint payments_canceled_has_reason check ((status = 'CANCELED') = (cancellation_reason is not null)),
        constraint payments_settled_not_synced
          check ((status in ('SUCCEEDED', 'CANCELED')) = (next_sync_at is null))
      )`);
    this.addSql(`create index payments_user_history on payments (user_ref, seq)`);
    // The sweep reads unsettled payments that are due, oldest first.
    this.addSql(`create index payments_unsettled on payments (next_sync_at) where next_sync_at is not null`);
    // A payment's credits move with exactly one TOP_UP transfer, whose reference is the payment id.
    this.addSql(
      `create unique index ledger_transfers_top_up_once on ledger_transfers (reference) where kind = 'TOP_UP'`,
    );

    this.addSql(`
      create table payment_refunds (
        seq bigint generated always as identity primary key,
        id uuid not null unique,
        payment_id uuid not null references payments (id),
        user_ref text not null,
        status text not null check (status in ('CREATING', 'PENDING', 'SUCCEEDED', 'CANCELED')),
        amount_minor bigint not null check (amount_minor > 0),
        currency text not null check (currency ~ '^[A-Z]{3}$'),
        credits_to_reverse bigint not null check (credits_to_reverse >= 0),
        credits_reversed bigint check (credits_reversed >= 0 and credits_reversed <= credits_to_reverse),
        force boolean not null,
        reason text not null,
        request_key text not null unique,
        idempotence_key text not null unique check (idempotence_key ~ '^[0-9A-Za-z+_.-]{1,64}$'),
        create_request jsonb not null,
        provider_refund_id text unique,
        reverse_transfer_id uuid unique references ledger_transfers (id) deferrable initially deferred,
        cancellation_party text,
        cancellation_reason text,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        succeeded_at timestamptz,
        next_sync_at timestamptz,
        constraint payment_refunds_provider_id_after_create
          check (status = 'CANCELED' or (status = 'CREATING') = (provider_refund_id is null)),
        constraint payment_refunds_reversed_iff_succeeded
          check ((status = 'SUCCEEDED') = (succeeded_at is not null and credits_reversed is not null)),
        constraint payment_refunds_canceled_has_reason
          check ((status = 'CANCELED') = (cancellation_reason is not null)),
        constraint payment_refunds_settled_not_synced
          check ((status in ('SUCCEEDED', 'CANCELED')) = (next_sync_at is null))
      )`);
    this.addSql(`create index payment_refunds_payment on payment_refunds (payment_id, seq)`);
    this.addSql(
      `create index payment_refunds_unsettled on payment_refunds (next_sync_at) where next_sync_at is not null`,
    );
    // A refund's credits leave with exactly one PAYMENT_REFUND transfer, whose reference is the refund id.
    this.addSql(
      `create unique index ledger_transfers_payment_refund_once on ledger_transfers (reference) where kind = 'PAYMENT_REFUND'`,
    );
  }
}
