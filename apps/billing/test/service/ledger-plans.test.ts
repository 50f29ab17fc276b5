// The hot path's plans are index lookups whatever the tables' statistics say. Its statements are
// prepared once per connection and keep the generic plan they make early on; on a new database
// (a fresh deployment, a test, a bench) that plan was a sequential scan of ledger_holds and a hash
// join over all of ledger_transfers, repeated by every batch as the tables grew, until an ANALYZE.
// Here each statement is planned generically, on a new database, through the hot path's own trip,
// and no plan may scan a table or hash or merge-join one.
import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as statements from "../../src/ledger/store/batch-statements.js";
import { type PreparedStatement, TwoTrips } from "../../src/ledger/store/two-trips.js";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

let billing: TestBilling;
let pool: Pool;

beforeAll(async () => {
  billing = await startTestBilling({ label: "ledger_plans" });
  pool = await billing.server.context().db.pool();
});

afterAll(async () => {
  await billing.close();
});

/** The generic plan of `statement` as the hot path makes it (its trip, its settings). */
async function genericPlan(statement: PreparedStatement): Promise<PlanNode> {
  const trips = await TwoTrips.connect(pool);
  try {
    const values = Array.from({ length: statement.parameters }, () => []);
    const [, explained] = await trips.begin([
      "set local plan_cache_mode = force_generic_plan",
      `explain (format json) ${trips.execute(statement, ...values)}`,
    ]);
    const [plan] = (explained?.rows[0] as { "QUERY PLAN": { Plan: PlanNode }[] })["QUERY PLAN"];
    if (plan === undefined) throw new Error(`no plan for ${statement.name}`);
    return plan.Plan;
  } finally {
    await trips.release();
  }
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

const hotPath = Object.values(statements).filter(
  (value): value is PreparedStatement => typeof value === "object" && "sql" in value,
);

describe("hot path plans", () => {
  it("reads the batch session's statements from their module (locks, reads and writes among them)", () => {
    expect(hotPath.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        "billing_batch_lock_holds",
        "billing_batch_lock_accounts",
        "billing_batch_read_lots",
        "billing_batch_update_holds",
        "billing_batch_insert_transfers",
      ]),
    );
  });

  it.each(hotPath.map((s) => [s.name, s] as const))(
    "%s reads its tables through indexes only, on a new database",
    async (_name, statement) => {
      const nodes = nodesOf(await genericPlan(statement));
      const scans = nodes
        .filter((n) => ["Seq Scan", "Hash Join", "Merge Join"].includes(n["Node Type"]))
        .map((n) => `${n["Node Type"]} ${n["Relation Name"] ?? ""}`.trim());
      expect(scans).toEqual([]);
    },
  );
});
