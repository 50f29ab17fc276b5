import { Migration } from "@mikro-orm/migrations";

/**
 * Plan quotas: the plan each user was put on, the payments that activated plans (once each), and one
 * usage counter per (user, metric, window kind, window start). A new calendar window is a new row,
 * so nothing ever resets counters. The window kind is part of the key because plans may meter the
 * same metric per day in one plan and per month in another, and a day and its month can start at
 * the same instant.
 */
export class Migration20261122000200Quotas extends Migration {
  override up(): void {
    this.addSql(`
      create table quota_user_plans (
        user_ref text primary key check (length(user_ref) between 1 and 128),
        plan_code text not null check (plan_code ~ '^[a-z][a-z0-9_]{0,63}$'),
        until timestamptz,
        source text not null check (source in ('ADMIN', 'PAYMENT')),
        payment_id text check (length(payment_id) between 1 and 128),
        updated_at timestamptz not null default now(),
        constraint quota_user_plans_payment_iff_paid check ((source = 'PAYMENT') = (payment_id is not null))
      )`);

    this.addSql(`
      create table quota_plan_activations (
        payment_id text primary key check (length(payment_id) between 1 and 128),
        user_ref text not null check (length(user_ref) between 1 and 128),
        plan_code text not null check (plan_code ~ '^[a-z][a-z0-9_]{0,63}$'),
        previous_until timestamptz,
        until timestamptz,
        activated_at timestamptz not null,
        constraint quota_plan_activations_ends_later check (until is null or until > activated_at)
      )`);
    this.addSql(
      `create index quota_plan_activations_user on quota_plan_activations (user_ref, activated_at)`,
    );

    this.addSql(`
      create table quota_counters (
        id bigint generated always as identity primary key,
        user_ref text not null check (length(user_ref) between 1 and 128),
        metric text not null check (metric ~ '^[a-z][a-z0-9_]{0,63}$'),
        window_kind text not null check (window_kind in ('day', 'month')),
        window_start timestamptz not null,
        used_units bigint not null default 0 check (used_units >= 0),
        extra_units bigint not null default 0 check (extra_units >= 0),
        updated_at timestamptz not null default now(),
        constraint quota_counters_one_per_window unique (user_ref, metric, window_kind, window_start)
      )`);
  }
}
