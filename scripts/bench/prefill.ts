// A billing database pre-filled with history, for the "charge cost does not grow with history"
// scenario: ≥ 1 M accounts, ≥ 5 M transfers and ≥ 5 M idempotency keys, written with SQL
// (generate_series) so that the ledger stays consistent (stored columns = sums of transfers,
// balance_after = running balances). Built once into a template database and cached across runs;
// each run gets a copy (CREATE DATABASE … TEMPLATE), which takes seconds.
import pg from "pg";
import { PG_ADMIN_URL } from "@billing/testkit";

export const PREFILL = { users: 500_000, grantsPerUser: 10 } as const;
/** Bump when a migration changes the columns the fill writes: a cached template is then rebuilt. */
const FILL_SCHEMA = 2;
const TEMPLATE = `bench_prefilled_${PREFILL.users}x${PREFILL.grantsPerUser}_s${FILL_SCHEMA}`;

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function urlOf(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function templateExists(): Promise<boolean> {
  return admin(async (client) => {
    const { rows } = await client.query("select 1 from pg_database where datname = $1", [TEMPLATE]);
    return rows.length > 0;
  });
}

/** Fills a migrated, empty billing database `database` and keeps it as the template. */
export async function buildTemplate(database: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlOf(database) });
  await client.connect();
  const { users, grantsPerUser } = PREFILL;
  try {
    await client.query("begin");
    await client.query(
      `insert into ledger_accounts (owner_ref, asset, kind)
       select 'fill:' || g, a, 'USER' from generate_series(1, $1) g, (values ('CREDITS'), ('FREE_OPERATIONS')) v(a)`,
      [users],
    );
    // Grants of 1 credit from the issuance shard 0 to each user, grantsPerUser times, in seq order.
    await client.query(
      `insert into ledger_transfers (id, kind, asset, debit_account_id, credit_account_id, amount, user_ref,
         reason, debit_balance_after, credit_balance_after, debit_reserved_after, credit_reserved_after, created_at)
       select gen_random_uuid(), 'GRANT', 'CREDITS', s.id, u.id, 1, u.owner_ref, 'prefill',
              -(row_number() over (order by u.id, k)), k, 0, 0, now()
         from ledger_accounts u
         cross join generate_series(1, $1) k
         cross join (select id from ledger_accounts
                      where owner_ref = 'system:issuance' and asset = 'CREDITS' and shard = 0) s
        where u.owner_ref like 'fill:%' and u.asset = 'CREDITS'
        order by u.id, k`,
      [grantsPerUser],
    );
    await client.query(
      `update ledger_accounts set credits_posted = $1 where owner_ref like 'fill:%' and asset = 'CREDITS'`,
      [grantsPerUser],
    );
    await client.query(
      `update ledger_accounts set debits_posted = debits_posted + $1
        where owner_ref = 'system:issuance' and asset = 'CREDITS' and shard = 0`,
      [users * grantsPerUser],
    );
    await client.query(
      `insert into idempotency_keys (key, command, fingerprint, result, created_at)
       select 'fill-' || g, 'Grant', sha256(g::text::bytea), '{}'::jsonb, now() from generate_series(1, $1) g`,
      [users * grantsPerUser],
    );
    await client.query("commit");
    await client.query("vacuum analyze");
  } finally {
    await client.end();
  }
  await admin((c) => c.query(`create database "${TEMPLATE}" template "${database}"`));
}

/** A fresh copy of the template, named `database`. */
export async function copyTemplate(database: string): Promise<void> {
  await admin((c) => c.query(`create database "${database}" template "${TEMPLATE}"`));
}

export async function counts(url: string): Promise<{ accounts: number; transfers: number; keys: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ accounts: string; transfers: string; keys: string }>(
      `select (select count(*) from ledger_accounts)::text as accounts,
              (select count(*) from ledger_transfers)::text as transfers,
              (select count(*) from idempotency_keys)::text as keys`,
    );
    const row = rows[0];
    return { accounts: Number(row?.accounts), transfers: Number(row?.transfers), keys: Number(row?.keys) };
  } finally {
    await client.end();
  }
}
