// The hot path's cost in round trips to PostgreSQL: a batch of Charges, Reserves, Commits or
// Releases of any size costs two (open + locks + reads; writes + commit), never more for a larger
// batch. Counted on the pool's connections, so every statement the ledger sends is seen. Its
// statements are prepared once per connection, so PostgreSQL neither parses nor plans them per batch.
import type { Pool, PoolClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ledger } from "../../src/ledger/index.js";
import { preparedStatement, TwoTrips } from "../../src/ledger/store/two-trips.js";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

let billing: TestBilling;
let ledger: Ledger;
let pool: Pool;
let trips = 0;
/** Per connection, the names of the statements PREPAREd on it, in the order sent. */
const prepares = new Map<PoolClient, string[]>();

/** Counts every query sent on connections of the pool while `work` runs. */
async function roundTripsOf(work: () => Promise<unknown>): Promise<number> {
  trips = 0;
  await work();
  return trips;
}

beforeAll(async () => {
  // No background sweeps or health probes (every second by default) on the pool while trips are counted.
  billing = await startTestBilling({
    label: "round_trips",
    env: {
      BILLING_HOLD_SWEEP_INTERVAL_MS: "600000",
      PAYMENTS_SWEEP_INTERVAL_MS: "3600000",
      BILLING_DB_PROBE_INTERVAL_MS: "60000",
    },
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
      if (typeof args[0] === "string") {
        const names = [...args[0].matchAll(/^prepare (\w+)/gm)].map((match) => match[1] ?? "");
        prepares.set(client, [...(prepares.get(client) ?? []), ...names]);
      }
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

  it("prepares each statement once per connection, and later batches only execute it", async () => {
    for (let round = 0; round < 6; round++) await ledger.spendBatch(spend(4, `prepared${round}`));
    const sent = [...prepares.values()];
    expect(sent.flat()).toContain("billing_batch_lock_accounts");
    expect(sent.flat()).toContain("billing_batch_insert_transfers");
    for (const names of sent) expect(names).toEqual([...new Set(names)]);
    // PostgreSQL holds them on the connections: planned once, run with EXECUTE from then on.
    const client = await pool.connect();
    try {
      const { rows } = await client.query<{ name: string }>(
        "select name from pg_prepared_statements where name like 'billing_batch_%'",
      );
      const held = rows.map((row) => row.name).sort();
      const sentOnIt = (prepares.get(client) ?? []).filter((name) => name.startsWith("billing_batch_"));
      expect(held).toEqual(sentOnIt.sort());
    } finally {
      client.release();
    }
  });

  it("drops a connection whose trip failed while preparing, and prepares again on the next one", async () => {
    const failing = preparedStatement("test_round_trips_failing", 0, "select 1 / 0");
    const trips1 = await TwoTrips.connect(pool);
    const failure = await trips1.begin([trips1.execute(failing)]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failure as { code?: string }).code).toBe("22012");
    const connections = pool.totalCount;
    await trips1.release(failure);
    // The connection left the pool: which PREPAREs ran on it is not guessed.
    expect(pool.totalCount).toBe(connections - 1);

    const answering = preparedStatement("test_round_trips_answering", 1, "select ($1 ->> 'n')::int as n");
    const trips2 = await TwoTrips.connect(pool);
    try {
      const [result] = await trips2.begin([trips2.execute(answering, { n: 7 })]);
      expect(result?.rows).toEqual([{ n: 7 }]);
      await trips2.commit([trips2.execute(answering, { n: 8 })]);
    } finally {
      await trips2.release();
    }
    // The batches still run on the pool afterwards.
    const outcomes = await ledger.spendBatch(spend(3, "after-failure"));
    expect(outcomes.every((o) => o.ok)).toBe(true);
  });
});
