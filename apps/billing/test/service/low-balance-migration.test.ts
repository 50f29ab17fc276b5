// The low-balance migration on a database that already has history: accounts credited by a TOP_UP
// transfer before the upgrade come out marked topped up, all others not.
import { createLogger } from "@billing/observability";
import { testDatabase, withPg } from "@billing/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/database.js";

describe("migration: low-balance watch", () => {
  const database = testDatabase("low_balance_migration");
  let db: Database | undefined;
  afterAll(async () => {
    await db?.close();
    await database.drop();
  });

  it("backfills topped_up from the TOP_UP transfers already recorded", async () => {
    db = await openDatabase({
      url: database.url,
      poolMax: 2,
      createDatabase: true,
      log: createLogger({ app: "migration-test", level: "silent" }),
    });
    await db.orm.migrator.up({ to: "Migration20261202000100FrozenPlan" });
    await withPg(database.url, async (pg) => {
      const ids = await pg.query<{ id: string; owner_ref: string }>(
        `insert into ledger_accounts (owner_ref, asset, kind) values
           ('system:payments', 'CREDITS', 'SYSTEM'), ('paid', 'CREDITS', 'USER'),
           ('paid', 'FREE_OPERATIONS', 'USER'), ('unpaid', 'CREDITS', 'USER')
         returning id::text, owner_ref`,
      );
      const [system, paid] = ids.rows;
      await pg.query(`update ledger_accounts set debits_posted = 100 where id = $1`, [system?.id]);
      await pg.query(`update ledger_accounts set credits_posted = 100 where id = $1`, [paid?.id]);
      await pg.query(
        `insert into ledger_transfers (id, kind, asset, debit_account_id, credit_account_id, amount, user_ref,
           debit_balance_after, credit_balance_after)
         values (gen_random_uuid(), 'TOP_UP', 'CREDITS', $1, $2, 100, 'paid', -100, 100)`,
        [system?.id, paid?.id],
      );
    });
    await db.orm.migrator.up();
    const flags = await withPg(
      database.url,
      async (pg) =>
        (
          await pg.query<{ owner_ref: string; asset: string; topped_up: boolean }>(
            `select owner_ref, asset, topped_up from ledger_accounts order by id`,
          )
        ).rows,
    );
    expect(flags).toEqual([
      { owner_ref: "system:payments", asset: "CREDITS", topped_up: false },
      { owner_ref: "paid", asset: "CREDITS", topped_up: true },
      { owner_ref: "paid", asset: "FREE_OPERATIONS", topped_up: false },
      { owner_ref: "unpaid", asset: "CREDITS", topped_up: false },
    ]);
    // The schema refuses a threshold or the flag where they mean nothing, and a negative threshold.
    await withPg(database.url, async (pg) => {
      for (const statement of [
        `update ledger_accounts set topped_up = true where owner_ref = 'system:payments'`,
        `update ledger_accounts set low_balance_threshold_credits = 5 where asset = 'FREE_OPERATIONS'`,
        `update ledger_accounts set low_balance_threshold_credits = -1 where owner_ref = 'unpaid'`,
      ]) {
        await expect(pg.query(statement)).rejects.toThrow(/ledger_accounts_low_balance_watch/);
      }
    });
  });
});
