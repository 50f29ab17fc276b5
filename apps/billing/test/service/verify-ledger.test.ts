// VerifyLedger finds what it promises to find: tampered account columns, a balance_after that the
// replay contradicts, a negative user balance, reserved credits without a hold. Each case corrupts
// one row behind the service's back (foreign-key triggers off for that session; the overdraft CHECK
// dropped for the negative case) and expects exactly that invariant to be reported, across pages.
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

let billing: TestBilling;

beforeAll(async () => {
  billing = await startTestBilling({ label: "verify" });
  const caller = billing.client("admin");
  const admin = billing.client("admin");
  // More accounts than one verification page (1,000), so that paging is exercised.
  for (let batch = 0; batch < 6; batch++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        caller.wallet.openAccount({ userRef: `verify:${batch * 100 + i}` }),
      ),
    );
  }
  await admin.wallet.grant({
    userRef: "verify:7",
    amountCredits: 50n,
    reason: "verify",
    idempotencyKey: "verify-g",
  });
  await caller.wallet.charge({ userRef: "verify:7", operation: "generate", idempotencyKey: "verify-c1" });
  const { hold } = await caller.wallet.reserve({
    userRef: "verify:9",
    operation: "generate",
    idempotencyKey: "verify-r",
  });
  await billing.client("worker").wallet.commit({ holdId: hold?.holdId ?? "" });
});

afterAll(async () => {
  await billing.close();
});

async function invariants(): Promise<string[]> {
  const report = await billing.client("admin").wallet.verifyLedger({});
  return report.violations.map((v) => v.invariant).sort();
}

/** Runs SQL with the CHECK constraints and triggers out of the way (a corruption, as from outside). */
const tamper = (sql: string, params: unknown[] = []) =>
  withPg(billing.database.url, async (pg) => {
    await pg.query("begin");
    await pg.query("set local session_replication_role = replica");
    await pg.query(sql, params);
    await pg.query("commit");
  });

describe("VerifyLedger", () => {
  it("reports nothing for a ledger the service wrote, with every account and transfer counted", async () => {
    const report = await billing.client("admin").wallet.verifyLedger({});
    expect(report.ok).toBe(true);
    expect(report.violations).toEqual([]);
    const counts = await withPg(billing.database.url, async (pg) => {
      const { rows } = await pg.query<{ accounts: string; transfers: string }>(
        "select (select count(*) from ledger_accounts)::text as accounts, (select count(*) from ledger_transfers)::text as transfers",
      );
      return rows[0];
    });
    expect(report.accountsChecked.toString()).toBe(counts?.accounts);
    expect(report.transfersChecked.toString()).toBe(counts?.transfers);
    expect(report.accountsChecked).toBeGreaterThan(1_000n);
  });

  it("finds an account whose stored column no longer matches its transfers", async () => {
    await tamper(
      "update ledger_accounts set credits_posted = credits_posted + 5 where owner_ref = 'verify:7' and asset = 'CREDITS'",
    );
    expect(await invariants()).toEqual(["account_matches_transfers", "asset_sum_zero"]);
    await tamper(
      "update ledger_accounts set credits_posted = credits_posted - 5 where owner_ref = 'verify:7' and asset = 'CREDITS'",
    );
    expect(await invariants()).toEqual([]);
  });

  it("finds a transfer whose balance_after contradicts the replay", async () => {
    await tamper(
      `update ledger_transfers set debit_balance_after = debit_balance_after + 1
        where kind = 'CHARGE' and user_ref = 'verify:7'`,
    );
    expect(await invariants()).toEqual(["balance_after_replay"]);
    await tamper(
      `update ledger_transfers set debit_balance_after = debit_balance_after - 1
        where kind = 'CHARGE' and user_ref = 'verify:7'`,
    );
    expect(await invariants()).toEqual([]);
  });

  it("finds reserved credits that no open hold explains", async () => {
    await tamper(
      "update ledger_accounts set debits_pending = debits_pending + 1 where owner_ref = 'verify:599' and asset = 'FREE_OPERATIONS'",
    );
    expect(await invariants()).toEqual([
      "account_matches_transfers",
      "asset_sum_zero",
      "reserved_matches_open_holds",
    ]);
    await tamper(
      "update ledger_accounts set debits_pending = debits_pending - 1 where owner_ref = 'verify:599' and asset = 'FREE_OPERATIONS'",
    );
    expect(await invariants()).toEqual([]);
  });

  it("finds a user account below zero", async () => {
    const check = "ledger_accounts_user_not_overdrawn";
    await tamper(`alter table ledger_accounts drop constraint ${check}`);
    await tamper(
      "update ledger_accounts set debits_posted = debits_posted + 5 where owner_ref = 'verify:598' and asset = 'FREE_OPERATIONS'",
    );
    expect(await invariants()).toEqual([
      "account_matches_transfers",
      "asset_sum_zero",
      "no_negative_user_balance",
    ]);
    await tamper(
      "update ledger_accounts set debits_posted = debits_posted - 5 where owner_ref = 'verify:598' and asset = 'FREE_OPERATIONS'",
    );
    await tamper(
      `alter table ledger_accounts add constraint ${check} check (kind <> 'USER' or credits_posted - debits_posted - debits_pending >= 0)`,
    );
    expect(await invariants()).toEqual([]);
  });
});
