// GetBalance(as_of) on an account with 1,000,000 transfers: exact at instants across the history,
// and one bounded index seek per account side (EXPLAIN: no sequential scan, no sort, a row or so
// per scan), so its cost does not grow with the history. The history is written with set-based SQL
// (as scripts/bench/prefill.ts does), consistent enough that VerifyLedger finds nothing wrong.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headQuery } from "../../src/ledger/store/history.js";
import { pageQuery } from "../../src/ledger/store/statement.js";
import type { Ledger } from "../../src/ledger/ledger.js";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import { databaseMicros, microsOf, timestampOf } from "../support/instants.js";

const GROUPS = 250_000;
/** Each group is 4 transfers: a grant of 10, a hold of 5, its commit for 3, a charge of 2. */
const TRANSFERS = GROUPS * 4;
/** Transfer i is booked at start + 2i µs: an odd microsecond lies strictly between two of them. */
const SPACING_MICROS = 2n;

/** The user's credits (available, reserved) right after transfer i (0 = before the history). */
function creditsAfter(i: number): [bigint, bigint] {
  if (i === 0) return [0n, 0n];
  const g = BigInt(Math.ceil(i / 4));
  const step = i - (Number(g) - 1) * 4;
  const before = 5n * (g - 1n);
  switch (step) {
    case 1:
      return [before + 10n, 0n];
    case 2:
      return [before + 5n, 5n];
    case 3:
      return [before + 7n, 0n];
    default:
      return [before + 5n, 0n];
  }
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

describe("as_of on a 1 M-transfer account", () => {
  let billing: TestBilling;
  let ledger: Ledger;
  const userRef = "million:1";
  let start = 0n;
  let accounts = { credits: 0n, free: 0n };

  beforeAll(async () => {
    billing = await startTestBilling({ label: "as_of_million" });
    ledger = billing.server.context().ledger;
    await ledger.openAccount(userRef);
    const em = ledger.db.reader();
    const ids = await em.execute<{ asset: string; id: string }[]>(
      `select asset, id::text as id from ledger_accounts where owner_ref = ? and kind = 'USER'`,
      [userRef],
    );
    accounts = {
      credits: BigInt(ids.find((r) => r.asset === "CREDITS")?.id ?? "0"),
      free: BigInt(ids.find((r) => r.asset === "FREE_OPERATIONS")?.id ?? "0"),
    };
    // After the starter grant, so that booked_at keeps rising along the user's history.
    start = (await databaseMicros(em)) + 1_000n;
    await ledger.db.transaction(async (tx) => {
      const system = async (owner: string) => {
        const [row] = await tx.execute<{ id: string; available: string; reserved: string }[]>(
          `select id::text as id, (credits_posted - debits_posted - debits_pending)::text as available,
                  debits_pending::text as reserved
             from ledger_accounts where owner_ref = ? and asset = 'CREDITS' and shard = 0 for update`,
          [owner],
        );
        if (row === undefined) throw new Error(`no ${owner}`);
        return row;
      };
      const issuance = await system("system:issuance");
      const revenue = await system("system:revenue");
      await tx.execute(
        `insert into ledger_transfers (id, kind, asset, debit_account_id, credit_account_id, amount, pending,
           pending_id, user_ref, operation, hold_id, reason, debit_balance_after, credit_balance_after,
           debit_reserved_after, credit_reserved_after, created_at, booked_at)
         select md5(?::text || ':t:' || i)::uuid, kind, 'CREDITS', debit, credit, amount, kind = 'HOLD',
                case when kind = 'HOLD_POSTED' then md5(?::text || ':t:' || (i - 1))::uuid end,
                ?, case when kind <> 'GRANT' then 'generate' end,
                case when kind in ('HOLD', 'HOLD_POSTED') then md5(?::text || ':h:' || g)::uuid end,
                case when kind = 'GRANT' then 'bulk' end,
                debit_after, credit_after, debit_reserved, credit_reserved, at, at
           from (select i, g, step, at,
                        (array['GRANT', 'HOLD', 'HOLD_POSTED', 'CHARGE'])[step] as kind,
                        (array[10, 5, 3, 2])[step] as amount,
                        case when step = 1 then ?::bigint else ?::bigint end as debit,
                        case when step = 1 then ?::bigint else ?::bigint end as credit,
                        -- the debit side: issuance for grants, the user otherwise
                        case step when 1 then ?::bigint - 10 * g
                                  when 2 then 5 * g
                                  when 3 then 5 * g + 2
                                  else 5 * g end as debit_after,
                        case step when 1 then 5 * (g - 1) + 10
                                  when 2 then ?::bigint + 5 * (g - 1)
                                  when 3 then ?::bigint + 5 * (g - 1) + 3
                                  else ?::bigint + 5 * g end as credit_after,
                        case step when 1 then ?::bigint when 2 then 5 else 0 end as debit_reserved,
                        case step when 1 then 0 else ?::bigint end as credit_reserved
                   from (select i, (i + 3) / 4 as g, (i - 1) % 4 + 1 as step,
                                timestamptz 'epoch' + (?::bigint + ? * i) * interval '1 microsecond' as at
                           from generate_series(1, ?) i) n) r
          order by i`,
        [
          userRef,
          userRef,
          userRef,
          userRef,
          issuance.id,
          accounts.credits.toString(),
          accounts.credits.toString(),
          revenue.id,
          issuance.available,
          revenue.available,
          revenue.available,
          revenue.available,
          issuance.reserved,
          revenue.reserved,
          start.toString(),
          SPACING_MICROS.toString(),
          TRANSFERS,
        ],
      );
      await tx.execute(
        `insert into ledger_holds (id, user_ref, operation, funded_by, amount, price_credits, state,
           pending_transfer_id, resolution_transfer_id, posted_amount, expires_at, created_at, resolved_at)
         select md5(?::text || ':h:' || g)::uuid, ?, 'generate', 'CREDITS', 5, 5, 'POSTED',
                md5(?::text || ':t:' || (4 * g - 2))::uuid, md5(?::text || ':t:' || (4 * g - 1))::uuid, 3,
                now() + interval '1 hour', now(), now()
           from generate_series(1, ?) g`,
        [userRef, userRef, userRef, userRef, GROUPS],
      );
      await tx.execute(
        `update ledger_accounts set credits_posted = credits_posted + ?, debits_posted = debits_posted + ?
          where id = ?`,
        [10 * GROUPS, 5 * GROUPS, accounts.credits.toString()],
      );
      await tx.execute(`update ledger_accounts set debits_posted = debits_posted + ? where id = ?`, [
        10 * GROUPS,
        issuance.id,
      ]);
      await tx.execute(`update ledger_accounts set credits_posted = credits_posted + ? where id = ?`, [
        5 * GROUPS,
        revenue.id,
      ]);
    });
    await ledger.db.reader().execute(`analyze ledger_transfers`);
    // The synthetic history is booked up to ~2 s after `start`: let the clock pass it.
    const end = start + SPACING_MICROS * BigInt(TRANSFERS);
    for (let i = 0; i < 1_000 && (await databaseMicros(ledger.db.reader())) <= end; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }, 600_000);
  afterAll(async () => billing?.close());

  const bookedAt = (i: number) => start + SPACING_MICROS * BigInt(i);

  it("the generated history is a consistent ledger (VerifyLedger)", async () => {
    const report = await ledger.verify([]);
    expect(report.violations).toEqual([]);
    expect(report.transfersChecked).toBeGreaterThan(BigInt(TRANSFERS));
  }, 300_000);

  it("is exact at instants across the history, on and between the booked microseconds", async () => {
    const samples = [1, 2, 3, 4, 5, 77_778, 500_001, 500_002, 500_003, 999_998, 999_999, TRANSFERS];
    const wallet = billing.client("admin").wallet;
    for (const i of samples) {
      for (const [at, after] of [
        [bookedAt(i), i],
        [bookedAt(i) - 1n, i - 1],
        [bookedAt(i) + 1n, i],
      ] as const) {
        const balance = await wallet.getBalance({ userRef, asOf: timestampOf(at) });
        expect([balance.creditsAvailable, balance.creditsReserved], `as of transfer ${after}`).toEqual(
          creditsAfter(after),
        );
        // The free operations' history is only the starter grant, before all of it.
        expect([balance.freeOperationsAvailable, balance.freeOperationsReserved]).toEqual([4n, 0n]);
      }
    }
    // Before the history: the starter free operations only; after it: the balance now.
    const before = await wallet.getBalance({ userRef, asOf: timestampOf(start) });
    expect([before.creditsAvailable, before.freeOperationsAvailable]).toEqual([0n, 4n]);
    const now = await wallet.getBalance({ userRef });
    expect([now.creditsAvailable, now.creditsReserved]).toEqual(creditsAfter(TRANSFERS));
    // A replay of the history up to an instant (the O(n) way) agrees with the seek.
    const at = bookedAt(333_335);
    const [replayed] = await ledger.db.reader().execute<{ available: string; reserved: string }[]>(
      `select (sum(case when t.credit_account_id = ? then t.amount
                          when t.kind = 'HOLD_POSTED' then p.amount - t.amount
                          else -t.amount end))::text as available,
                (sum(case when t.kind = 'HOLD' then t.amount when t.kind = 'HOLD_POSTED' then -p.amount else 0 end))::text as reserved
           from ledger_transfers t left join ledger_transfers p on p.id = t.pending_id
          where (t.debit_account_id = ? or t.credit_account_id = ?)
            and t.booked_at <= timestamptz 'epoch' + ?::bigint * interval '1 microsecond'`,
      [accounts.credits.toString(), accounts.credits.toString(), accounts.credits.toString(), at.toString()],
    );
    const seek = await wallet.getBalance({ userRef, asOf: timestampOf(at) });
    expect([seek.creditsAvailable, seek.creditsReserved]).toEqual([
      BigInt(replayed?.available ?? "-1"),
      BigInt(replayed?.reserved ?? "-1"),
    ]);
    expect(creditsAfter(333_335)).toEqual([seek.creditsAvailable, seek.creditsReserved]);
  }, 120_000);

  it("reads by index seeks only (EXPLAIN ANALYZE: every scan of the history is an index scan of at most a row)", async () => {
    for (const at of [bookedAt(1), bookedAt(500_001), bookedAt(TRANSFERS)]) {
      const { sql, bindings } = headQuery([accounts.credits, accounts.free], at);
      const [explained] = await ledger.db
        .reader()
        .execute<{ "QUERY PLAN": [{ Plan: PlanNode }] }[]>(`explain (analyze, format json) ${sql}`, bindings);
      const plan = explained?.["QUERY PLAN"][0].Plan;
      if (plan === undefined) throw new Error("no plan");
      const nodes = nodesOf(plan);
      // Sorting is only ever of the two sides' single rows.
      for (const sort of nodes.filter((n) => n["Node Type"] === "Sort"))
        expect(sort["Actual Rows"] ?? 0).toBeLessThanOrEqual(2);
      const transferScans = nodes.filter((n) => n["Relation Name"] === "ledger_transfers");
      expect(transferScans.length).toBeGreaterThan(0);
      for (const scan of transferScans) {
        expect(scan["Node Type"]).toMatch(/^Index (Only )?Scan$/);
        expect(scan["Index Name"]).toMatch(/^ledger_transfers_(debit|credit)_booked$/);
        // At most one row per loop: a seek, not a walk through the history.
        expect(scan["Actual Rows"] ?? 0).toBeLessThanOrEqual(1);
      }
    }
  });

  it("a statement page reads a page of the history, not all of it (EXPLAIN ANALYZE)", async () => {
    const everything = { kinds: [], operation: "", reference: "" };
    const cases = [
      { filter: everything, cursor: undefined },
      { filter: everything, cursor: { bookedAtMicros: bookedAt(600_000), seq: 2n ** 62n } },
      {
        filter: { ...everything, startMicros: bookedAt(300_000), endMicros: bookedAt(300_500) },
        cursor: undefined,
      },
    ];
    for (const { filter, cursor } of cases) {
      const { sql, bindings } = pageQuery([accounts.credits, accounts.free], filter, cursor, 20);
      const [explained] = await ledger.db
        .reader()
        .execute<{ "QUERY PLAN": [{ Plan: PlanNode }] }[]>(`explain (analyze, format json) ${sql}`, bindings);
      const plan = explained?.["QUERY PLAN"][0].Plan;
      if (plan === undefined) throw new Error("no plan");
      for (const node of nodesOf(plan)) {
        if (node["Relation Name"] !== "ledger_transfers") continue;
        expect(node["Node Type"]).toMatch(/^Index (Only )?Scan( Backward)?$/);
        // A page and its look-ahead per side, found by the index bounds, not by filtering rows.
        expect((node["Actual Rows"] ?? 0) * (node["Actual Loops"] ?? 1)).toBeLessThanOrEqual(21);
        expect(node["Rows Removed by Filter"] ?? 0).toBe(0);
      }
    }
  });

  it("a statement's time range deep in the history lists exactly its entries", async () => {
    const wallet = billing.client("admin").wallet;
    const page = await wallet.listTransactions({
      userRef,
      startTime: timestampOf(bookedAt(400_001)),
      endTime: timestampOf(bookedAt(400_009)),
      pageSize: 100,
    });
    expect(page.transactions.map((t) => microsOf(t.bookedAt))).toEqual(
      Array.from({ length: 8 }, (_, k) => bookedAt(400_008 - k)),
    );
    expect(page.transactions.map((t) => t.balanceAfter)).toEqual(
      Array.from({ length: 8 }, (_, k) => creditsAfter(400_008 - k)[0]),
    );
    expect(page.nextPageToken).toBe("");
  });
});
