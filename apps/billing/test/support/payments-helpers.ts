// A billing server wired to the YooKassa fake, with short timeouts and retries, and small readers of
// what billing stored (rows counted straight from PostgreSQL, as an auditor would).
import { type BillingClient, createBillingClient } from "@billing/client";
import { type FakeYooKassa, type FakeYooKassaOptions, startFakeYooKassa, withPg } from "@billing/testkit";
import type { Clock } from "../../src/domain/clock.js";
import type { PlanPurchases } from "../../src/payments/plans.js";
import { startTestBilling, type TestBilling } from "./helpers.js";

export const SHOP_ID = "100500";
export const SECRET_KEY = "test_payments-fake-secret";
export const RETURN_URL = "https://t.me/example_bot";

export interface BillingWithFake {
  billing: TestBilling;
  fake: FakeYooKassa;
  close(): Promise<void>;
}

export async function startBillingWithFake(options: {
  label: string;
  fake?: Partial<FakeYooKassaOptions>;
  env?: Record<string, string>;
  clock?: Clock;
  planPurchases?: PlanPurchases;
}): Promise<BillingWithFake> {
  const fake = await startFakeYooKassa({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    defaultRetryAfterMs: 20,
    notificationRetryDelaysMs: [20, 40],
    ...options.fake,
  });
  const billing = await startTestBilling({
    label: options.label,
    env: { ...fakeEnv(fake), ...options.env },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.planPurchases === undefined ? {} : { planPurchases: options.planPurchases }),
  });
  return {
    billing,
    fake,
    async close() {
      await billing.close();
      await fake.close();
    },
  };
}

/** Billing's YooKassa settings for the fake: short timeouts, quick retries, a sweep that runs often. */
export function fakeEnv(fake: FakeYooKassa): Record<string, string> {
  return {
    YOOKASSA_SHOP_ID: SHOP_ID,
    YOOKASSA_SECRET_KEY: SECRET_KEY,
    YOOKASSA_API_URL: fake.url,
    YOOKASSA_TIMEOUT_MS: "1000",
    YOOKASSA_UNSAFE_SHORT_TIMEOUT: "true",
    YOOKASSA_MAX_ATTEMPTS: "4",
    YOOKASSA_RETRY_DELAY_MS: "10",
    PAYMENTS_RETURN_URL: RETURN_URL,
    PAYMENTS_SWEEP_INTERVAL_MS: "100",
    PAYMENTS_SWEEP_AGE_MS: "60000",
  };
}

/**
 * A client that does not repeat UNAVAILABLE answers (the default client retries idempotent calls),
 * for tests that must see the first answer. Close it after use.
 */
export function singleAttemptClient(
  billing: TestBilling,
  scope: "bot" | "webhooks" | "admin",
): BillingClient {
  return createBillingClient({
    baseUrl: billing.server.url,
    token: billing.tokens[scope],
    maxAttempts: 1,
    timeoutMs: 20_000,
  });
}

export async function countRows(
  url: string,
  table: "payments" | "payment_refunds" | "ledger_transfers",
  where = "true",
): Promise<number> {
  return withPg(url, async (pg) => {
    const result = await pg.query<{ count: string }>(
      `select count(*)::text as count from ${table} where ${where}`,
    );
    return Number(result.rows[0]?.count ?? "0");
  });
}

export async function paymentRow(
  url: string,
  paymentId: string,
): Promise<Record<string, unknown> | undefined> {
  return withPg(
    url,
    async (pg) =>
      (await pg.query<Record<string, unknown>>(`select * from payments where id = $1`, [paymentId])).rows[0],
  );
}

/** Outbox subjects written so far, oldest first. */
export async function outboxSubjects(url: string): Promise<string[]> {
  return withPg(url, async (pg) =>
    (await pg.query<{ subject: string }>(`select subject from outbox_events order by id`)).rows.map(
      (r) => r.subject,
    ),
  );
}

export { waitFor } from "@billing/testkit";
