// The hot path's cost in round trips to PostgreSQL: a batch of Charges, Reserves, Commits or
// Releases of any size costs two (open + locks + reads; writes + commit), never more for a larger
// batch. Counted on the pool's connections, so every statement the ledger sends is seen.
import type { Pool, PoolClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ledger } from "../../src/ledger/index.js";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

let billing: TestBilling;
let ledger: Ledger;
let pool: Pool;
let trips = 0;

/** Counts every query sent on connections of the pool while `work` runs. */
async function roundTripsOf(work: () => Promise<unknown>): Promise<number> {
  trips = 0;
  await work();
  return trips;
}

beforeAll(async () => {
  // No background sweeps on the pool while trips are counted.
  billing = await startTestBilling({
    label: "round_trips",
    env: { BILLING_HOLD_SWEEP_INTERVAL_MS: "600000", PAYMENTS_SWEEP_INTERVAL_MS: "3600000" },
  });
  ledger = billing.server.context().ledger;
  pool = await billing.server.context().db.pool();
  const counted = new WeakSet<PoolClient>();
  pool.on("acquire", (client) => {
    if (counted.has(client)) return;
    counted.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      trips++;
      return query(...args);
    };
  });
  const admin = billing.client("admin");
  for (let user = 0; user < 64; user++) {
    await billing.client("admin").wallet.openAccount({ userRef: `trips:${user}` });
    await admin.wallet.grant({
      userRef: `trips:${user}`,
      amountCredits: 1_000n,
      reason: "round trips",
      idempotencyKey: `trips-grant-${user}`,
    });
  }
});

afterAll(async () => {
  await billing.close();
});

const spend = (n: number, label: string) =>
  Array.from({ length: n }, (_, i) => ({
    type: i % 2 === 0 ? ("charge" as const) : ("reserve" as const),
    command: {
      userRef: `trips:${i % 64}`,
      operation: "generate",
      idempotencyKey: `trips-${label}-${i}`,
      reference: "",
      timeoutMs: 60_000,
      jobId: `job-${label}-${i}`,
    },
  }));

describe("hot path round trips", () => {
  it.each([1, 8, 64])("a batch of %i charges and reserves costs 2 round trips", async (n) => {
    const batch = spend(n, `spend${n}`);
    let answered = 0;
    expect(
      await roundTripsOf(async () => {
        const outcomes = await ledger.spendBatch(batch);
        answered = outcomes.filter((o) => o.ok).length;
      }),
    ).toBe(2);
    expect(answered).toBe(n);
    // Their replays cost the same and change nothing.
    expect(await roundTripsOf(() => ledger.spendBatch(batch))).toBe(2);
  });

  it.each([1, 8, 64])("a batch of %i commits and releases costs 2 round trips", async (n) => {
    const reserves = spend(n * 2, `resolve${n}`).map((item) => ({ ...item, type: "reserve" as const }));
    const holdIds = (await ledger.spendBatch(reserves)).flatMap((o) =>
      o.ok && "hold" in o.value ? [o.value.hold.holdId] : [],
    );
    expect(holdIds).toHaveLength(n * 2);
    const resolutions = holdIds
      .slice(0, n)
      .map((holdId, i) =>
        i % 2 === 0
          ? { holdId, kind: "post" as const, amountCredits: undefined }
          : { holdId, kind: "void" as const, reason: "round trips" },
      );
    let states: string[] = [];
    expect(
      await roundTripsOf(async () => {
        const outcomes = await ledger.resolveBatch(resolutions);
        states = outcomes.map((o) => (o.ok ? o.value.hold.state : o.error.reason));
      }),
    ).toBe(2);
    expect(states).toEqual(resolutions.map((r) => (r.kind === "post" ? "POSTED" : "VOIDED")));
  });

  it("a refused batch costs the same 2 round trips and writes nothing", async () => {
    const broke = "trips:broke";
    await billing.client("admin").wallet.openAccount({ userRef: broke });
    const batch = Array.from({ length: 10 }, (_, i) => ({
      type: "charge" as const,
      command: { userRef: broke, operation: "generate", idempotencyKey: `trips-broke-${i}`, reference: "" },
    }));
    let reasons: string[] = [];
    expect(
      await roundTripsOf(async () => {
        reasons = (await ledger.spendBatch(batch)).map((o) =>
          o.ok && "fundedBy" in o.value ? o.value.fundedBy : o.ok ? "?" : o.error.reason,
        );
      }),
    ).toBe(2);
    // Four starter free operations, then nothing left.
    expect(reasons).toEqual([...Array(4).fill("FREE_OPERATION"), ...Array(6).fill("INSUFFICIENT_FUNDS")]);
  });
});
