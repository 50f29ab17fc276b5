// The transfer-history migration on a ledger written before it: each transfer's reserved balance
// after it is replayed into place, booked_at is filled from created_at and kept in order along the
// user's history even where created_at was not, and the upgraded ledger passes VerifyLedger and
// answers GetBalance(as_of) for its old instants.
import { createLogger } from "@billing/observability";
import { testDatabase, type TestDatabase, withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, migrate, openDatabase } from "../../src/db/database.js";
import { readBalanceAsOf } from "../../src/ledger/store/history.js";
import { verifyHistory } from "../../src/ledger/store/history-invariants.js";
import { verifyLedger } from "../../src/ledger/store/verify.js";

const BEFORE = "Migration20261202000100FrozenPlan";
const T = Date.parse("2026-11-30T12:00:00Z") * 1000;
const at = (seconds: number) => BigInt(T + seconds * 1_000_000);

describe("transfer history migration", () => {
  let database: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    database = testDatabase("history_migration");
    db = await openDatabase({
      url: database.url,
      poolMax: 2,
      createDatabase: true,
      log: createLogger({ app: "billing-test", level: "silent" }),
    });
    await db.orm.migrator.up({ to: BEFORE });
    // A ledger as the previous version wrote it: a grant, two holds, a commit of the first for 7,
    // a charge. The second transfer's created_at is earlier than the first's (two transactions
    // that started in one order and took the locks in the other).
    await withPg(database.url, async (pg) => {
      await pg.query(`insert into ledger_accounts (id, owner_ref, asset, kind, credits_posted, debits_posted, debits_pending)
        overriding system value values
          (1, 'telegram:1', 'CREDITS', 'USER', 100, 10, 20), (2, 'telegram:1', 'FREE_OPERATIONS', 'USER', 0, 0, 0),
          (3, 'system:issuance', 'CREDITS', 'SYSTEM', 0, 100, 0), (4, 'system:revenue', 'CREDITS', 'SYSTEM', 10, 0, 0)`);
      await pg.query(`update ledger_accounts set credits_pending = 20 where id = 4`);
      const instant = (s: number) => new Date(T / 1000 + s * 1000).toISOString();
      await pg.query(
        `insert into ledger_transfers (id, kind, asset, debit_account_id, credit_account_id, amount, pending,
           pending_id, user_ref, operation, hold_id, debit_balance_after, credit_balance_after, created_at)
         values
          ('00000000-0000-4000-8000-000000000001', 'GRANT', 'CREDITS', 3, 1, 100, false, null, 'telegram:1', null, null, -100, 100, $1),
          ('00000000-0000-4000-8000-000000000002', 'HOLD', 'CREDITS', 1, 4, 10, true, null, 'telegram:1', 'generate', '00000000-0000-4000-8000-0000000000a1', 90, 0, $2),
          ('00000000-0000-4000-8000-000000000003', 'HOLD', 'CREDITS', 1, 4, 20, true, null, 'telegram:1', 'generate', '00000000-0000-4000-8000-0000000000a2', 70, 0, $3),
          ('00000000-0000-4000-8000-000000000004', 'HOLD_POSTED', 'CREDITS', 1, 4, 7, false, '00000000-0000-4000-8000-000000000002', 'telegram:1', 'generate', '00000000-0000-4000-8000-0000000000a1', 73, 7, $4),
          ('00000000-0000-4000-8000-000000000005', 'CHARGE', 'CREDITS', 1, 4, 3, false, null, 'telegram:1', 'generate', null, 70, 10, $5)`,
        [instant(5), instant(3), instant(6), instant(7), instant(8)],
      );
      await pg.query(
        `insert into ledger_holds (id, user_ref, operation, funded_by, amount, price_credits, state,
           pending_transfer_id, resolution_transfer_id, posted_amount, expires_at, created_at, resolved_at)
         values
          ('00000000-0000-4000-8000-0000000000a1', 'telegram:1', 'generate', 'CREDITS', 10, 10, 'POSTED',
           '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000004', 7, $1, $1, $1),
          ('00000000-0000-4000-8000-0000000000a2', 'telegram:1', 'generate', 'CREDITS', 20, 20, 'PENDING',
           '00000000-0000-4000-8000-000000000003', null, null, $1, $1, null)`,
        [instant(9)],
      );
    });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it("replays reserved-after, keeps booked_at in order, and the upgraded ledger verifies", async () => {
    const rows = await withPg(database.url, async (pg) => {
      const { rows } = await pg.query<{ kind: string; d: string; c: string; booked: string }[]>(
        `select kind, debit_reserved_after::text as d, credit_reserved_after::text as c,
                floor(extract(epoch from booked_at) * 1000000)::bigint::text as booked
           from ledger_transfers order by seq`,
      );
      return rows as unknown as { kind: string; d: string; c: string; booked: string }[];
    });
    expect(rows.map((r) => [r.kind, r.d, r.c])).toEqual([
      ["GRANT", "0", "0"],
      ["HOLD", "10", "0"],
      ["HOLD", "30", "0"],
      ["HOLD_POSTED", "20", "0"],
      ["CHARGE", "20", "0"],
    ]);
    // The second transfer's created_at (3 s) is raised to the first's (5 s).
    expect(rows.map((r) => BigInt(r.booked))).toEqual([at(5), at(5), at(6), at(7), at(8)]);
    const report = await verifyLedger(db, [verifyHistory]);
    expect(report.violations).toEqual([]);
  });

  it("VerifyLedger catches a drifted reserved-after and a transfer booked out of order", async () => {
    const corrupt = (sql: string) => withPg(database.url, (pg) => pg.query(sql));
    await corrupt(
      `update ledger_transfers set debit_reserved_after = debit_reserved_after + 1 where kind = 'HOLD_POSTED'`,
    );
    await corrupt(
      `update ledger_transfers set booked_at = booked_at - interval '1 hour' where kind = 'CHARGE'`,
    );
    const report = await verifyLedger(db, [verifyHistory]);
    expect(report.violations.map((v) => [v.invariant, v.subject])).toEqual([
      ["reserved_after_replay", "00000000-0000-4000-8000-000000000004"],
      ["booked_in_order", "00000000-0000-4000-8000-000000000005"],
    ]);
    await corrupt(
      `update ledger_transfers set debit_reserved_after = debit_reserved_after - 1 where kind = 'HOLD_POSTED'`,
    );
    await corrupt(
      `update ledger_transfers set booked_at = booked_at + interval '1 hour' where kind = 'CHARGE'`,
    );
    expect((await verifyLedger(db, [verifyHistory])).violations).toEqual([]);
  });

  it("answers GetBalance(as_of) for instants before the upgrade", async () => {
    const balance = (s: number) => readBalanceAsOf(db, "telegram:1", at(s));
    expect(await balance(4)).toEqual({
      creditsAvailable: 0n,
      creditsReserved: 0n,
      freeOperationsAvailable: 0n,
      freeOperationsReserved: 0n,
    });
    expect(await balance(5)).toMatchObject({ creditsAvailable: 90n, creditsReserved: 10n });
    expect(await balance(6.5)).toMatchObject({ creditsAvailable: 70n, creditsReserved: 30n });
    expect(await balance(7)).toMatchObject({ creditsAvailable: 73n, creditsReserved: 20n });
    expect(await balance(100)).toMatchObject({ creditsAvailable: 70n, creditsReserved: 20n });
  });
});
