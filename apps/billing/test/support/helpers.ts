// Starts a real billing server on port 0 against a fresh PostgreSQL database, with one token per
// scope, and hands out typed clients. Every test file gets its own database, dropped afterwards.
import { billingEnvSchema, parseEnv } from "@billing/config";
import { type BillingClient, createBillingClient } from "@billing/client";
import { createLogger } from "@billing/observability";
import { testDatabase, testToken, type TestDatabase, withPg } from "@billing/testkit";
import type { Clock } from "../../src/domain/clock.js";
import type { PlanPurchases } from "../../src/payments/plans.js";
import { type BillingServer, startBillingServer } from "../../src/server.js";

export const SCOPES = ["admin", "bot", "worker", "webhooks", "service"] as const;
export type TestScope = (typeof SCOPES)[number];

export interface TestBilling {
  server: BillingServer;
  database: TestDatabase;
  /** http://127.0.0.1:<port> of its /metrics. */
  metricsUrl: string;
  tokens: Record<TestScope, string>;
  client(scope: TestScope): BillingClient;
  close(): Promise<void>;
}

/** A clock tests can move. */
export class ManualClock implements Clock {
  constructor(public current = new Date("2026-11-22T10:00:00Z")) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export async function startTestBilling(options: {
  label: string;
  env?: Record<string, string>;
  clock?: Clock;
  systemShards?: number;
  planPurchases?: PlanPurchases;
  /** Deadline of the clients' calls (default 20 s); load tests on a busy machine need more. */
  clientTimeoutMs?: number;
  /** Where the server's JSON log lines go (tests that read them); stdout otherwise. */
  logDestination?: { write(line: string): void };
}): Promise<TestBilling> {
  const database = testDatabase(options.label);
  const tokenPairs = SCOPES.map((scope) => [scope, testToken(scope)] as const);
  const config = parseEnv(billingEnvSchema, {
    DATABASE_URL: database.url,
    BILLING_PORT: "0",
    BILLING_METRICS_PORT: "0",
    BILLING_HOST: "127.0.0.1",
    BILLING_TOKENS: tokenPairs.map(([, t]) => t.entry).join(","),
    BILLING_HOLD_SWEEP_INTERVAL_MS: "200",
    BILLING_OUTBOX_ENABLED: "false",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...options.env,
  });
  const server = await startBillingServer({
    config,
    log: createLogger({
      app: "billing-test",
      level: config.logLevel,
      ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
    }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.systemShards === undefined ? {} : { systemShards: options.systemShards }),
    ...(options.planPurchases === undefined ? {} : { planPurchases: options.planPurchases }),
  });
  await server.ready;
  const tokens = Object.fromEntries(tokenPairs.map(([scope, t]) => [scope, t.token])) as Record<
    TestScope,
    string
  >;
  const clients: BillingClient[] = [];
  return {
    server,
    database,
    metricsUrl: `http://127.0.0.1:${server.metricsPort}`,
    tokens,
    client(scope) {
      const client = createBillingClient({
        baseUrl: server.url,
        token: tokens[scope],
        timeoutMs: options.clientTimeoutMs ?? 20_000,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await server.close();
      await database.drop();
    },
  };
}

/** Every row of every ledger table, as one string: "changes nothing" means this is unchanged. */
export function ledgerSnapshot(databaseUrl: string): Promise<string> {
  return withPg(databaseUrl, async (pg) => {
    const parts: string[] = [];
    for (const table of [
      "ledger_accounts",
      "ledger_transfers",
      "ledger_holds",
      "credit_lots",
      "idempotency_keys",
      "outbox_events",
    ]) {
      const { rows } = await pg.query<{ s: string }>(
        `select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) as s from ${table} r`,
      );
      parts.push(rows[0]?.s ?? "");
    }
    return parts.join("\n");
  });
}
