// Many concurrent calls on one quota counter, through two billing instances sharing one database:
// never more than the limit, no lost update, replays applied once, no deadlocks.
import { billingEnvSchema, parseEnv } from "@billing/config";
import { type BillingClient, Code, ConnectError, createBillingClient, errorReason } from "@billing/client";
import { createLogger } from "@billing/observability";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingServer, startBillingServer } from "../../src/server.js";
import { ManualClock, startTestBilling, type TestBilling } from "../support/helpers.js";
import { storedCounters } from "../support/quota-helpers.js";

describe("concurrent quota calls", () => {
  const clock = new ManualClock();
  let billing: TestBilling;
  let second: BillingServer;
  let clients: BillingClient[];
  beforeAll(async () => {
    billing = await startTestBilling({ label: "quota_race", clock });
    // A second instance on the same database: correctness rests on row locks, not on one process.
    second = await startBillingServer({
      config: parseEnv(billingEnvSchema, {
        DATABASE_URL: billing.database.url,
        BILLING_PORT: "0",
        BILLING_METRICS_PORT: "0",
        BILLING_HOST: "127.0.0.1",
        BILLING_TOKENS: `service:${billing.tokens.service}`,
        // Not about events: without this the outbox relay would create production-named streams.
        BILLING_OUTBOX_ENABLED: "false",
        LOG_LEVEL: "silent",
      }),
      log: createLogger({ app: "billing-test-2", level: "silent" }),
      clock,
    });
    await second.ready;
    // Generous deadlines: 300 calls queue on one row lock, and CI machines are shared and noisy.
    clients = [billing.server.url, second.url].map((baseUrl) =>
      createBillingClient({ baseUrl, token: billing.tokens.service, timeoutMs: 120_000 }),
    );
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await second?.close();
    await billing?.close();
  });

  const client = (i: number) => clients[i % 2] as BillingClient;
  const keysOf = (prefix: string) =>
    withPg(billing.database.url, async (pg) => {
      const { rows } = await pg.query<{ n: string }>(
        "select count(*) as n from idempotency_keys where key like $1",
        [`${prefix}%`],
      );
      return Number(rows[0]?.n);
    });

  it("lets exactly 50 of 300 concurrent one-unit consumes through a limit of 50", async () => {
    const user = "svc:hot";
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        client(i)
          .quotas.consumeQuota({ userRef: user, metric: "chat_tokens", units: 1n, ref: `hot-${i}` })
          .then(
            (answer) => ({ ok: true as const, used: answer.quota?.used ?? -1n }),
            (error: unknown) => ({
              ok: false as const,
              reason: `${Code[ConnectError.from(error).code]}/${errorReason(error) ?? "-"}`,
            }),
          ),
      ),
    );
    const succeeded = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    expect(succeeded).toHaveLength(50);
    expect(new Set(refused.map((o) => o.reason))).toEqual(new Set(["ResourceExhausted/QUOTA_EXCEEDED"]));
    // Every success saw its own count: the updates were serialized, none was lost.
    expect(succeeded.map((o) => o.used).sort((a, b) => (a < b ? -1 : 1))).toEqual(
      Array.from({ length: 50 }, (_, i) => BigInt(i + 1)),
    );
    expect((await storedCounters(billing, user)).map((c) => [c.used_units, c.extra_units])).toEqual([
      [50n, 0n],
    ]);
    // The 250 refused calls stored nothing: only the successes hold a key.
    expect(await keysOf(`derived quota:consume:${user}:`)).toBe(50);
  }, 180_000);

  it("applies 40 concurrent replays of one ref once, and all of them answer the same", async () => {
    const user = "svc:twins";
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client(i).quotas.consumeQuota({ userRef: user, metric: "tpl_run", units: 3n, ref: "same-ref" }),
      ),
    );
    expect(new Set(answers.map((a) => a.quota?.used))).toEqual(new Set([3n]));
    expect((await storedCounters(billing, user)).map((c) => c.used_units)).toEqual([3n]);
    expect(await keysOf(`derived quota:consume:${user}:`)).toBe(1);
  });

  it("adds concurrently in both metric orders without deadlock, each order once", async () => {
    const user = "svc:adders";
    const lines = [
      { metric: "chat_tokens", units: 2n },
      { metric: "tpl_run", units: 1n },
    ];
    const calls = Array.from({ length: 60 }, (_, i) =>
      client(i).quotas.addQuota({
        userRef: user,
        orderId: `order-${i % 30}`, // each order twice
        units: i % 4 < 2 ? lines : [...lines].reverse(),
      }),
    );
    await Promise.all(calls);
    const counters = await storedCounters(billing, user);
    expect(counters.map((c) => [c.metric, c.extra_units])).toEqual([
      ["tpl_run", 30n],
      ["chat_tokens", 60n],
    ]);
  });
});
