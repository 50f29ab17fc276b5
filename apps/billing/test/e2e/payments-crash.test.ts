// Billing killed (SIGKILL) after storing two payments but before YooKassa answered their creates.
// After a restart, the replay of one and the sweep for the other resume them under the same
// Idempotence-Keys: exactly two payments exist at YooKassa, and both can be paid and credited.
import { createBillingClient } from "@billing/client";
import { PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import {
  type AppProcess,
  type BillingProcess,
  type FakeYooKassa,
  spawnApp,
  startBillingProcess,
  startFakeYooKassa,
  waitForHttpOk,
  withPg,
} from "@billing/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fakeEnv, SECRET_KEY, SHOP_ID, waitFor } from "../support/payments-helpers.js";

let fake: FakeYooKassa;
let billing: BillingProcess;
let restarted: AppProcess | undefined;

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, defaultRetryAfterMs: 20 });
  billing = await startBillingProcess({
    label: "payments_crash",
    env: { ...fakeEnv(fake), PAYMENTS_SWEEP_AGE_MS: "2000", PAYMENTS_SWEEP_INTERVAL_MS: "100" },
  });
});

afterAll(async () => {
  await restarted?.stop();
  await billing?.close();
  await fake?.close();
});

async function rows(): Promise<{ id: string; request_key: string; status: string }[]> {
  return withPg(
    billing.database.url,
    async (pg) =>
      (
        await pg.query<{ id: string; request_key: string; status: string }>(
          `select id, request_key, status from payments order by seq`,
        )
      ).rows,
  );
}

it("resumes both creates after a crash with the same keys: two payments at YooKassa, not four", async () => {
  const user = "telegram:6001";
  const before = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin, maxAttempts: 1 });
  await before.wallet.openAccount({ userRef: user });
  // YooKassa performs both creates at once but answers only after 20 s: billing dies meanwhile.
  fake.injectFault("payments.create", { type: "delay", delayMs: 20_000 }, 2);
  const inFlight = ["crash-a", "crash-b"].map((key) =>
    before.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: key,
      })
      .catch(() => undefined),
  );
  await waitFor("both creates to reach YooKassa", async () =>
    fake.listPayments().length === 2 && (await rows()).every((r) => r.status === "CREATING")
      ? true
      : undefined,
  );
  await billing.app.kill();
  await Promise.all(inFlight);
  before.close();

  restarted = spawnApp("billing", billing.env);
  await waitForHttpOk(`${billing.metricsUrl}/readyz`, restarted);
  const after = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
  try {
    // The caller repeats its request: the same payment, created under the same key.
    const replayed = await after.payments.createTopUp({
      userRef: user,
      purchase: { case: "packageCode", value: "rub_100" },
      idempotencyKey: "crash-b",
    });
    expect(replayed.payment?.status).toBe(PaymentStatus.PENDING);
    // Nobody repeats the other one: the sweep resumes it.
    await waitFor("the sweep to resume the other create", async () =>
      (await rows()).every((r) => r.status === "PENDING") ? true : undefined,
    );

    const stored = await rows();
    expect(stored.map((r) => r.request_key).sort()).toEqual(["crash-a", "crash-b"]);
    expect(fake.listPayments()).toHaveLength(2);
    for (const row of stored) {
      // Whoever resumed it (the replay, the sweep, or both at once) got YooKassa's stored answer.
      const answered = fake.requests.filter(
        (r) =>
          r.endpoint === "payments.create" &&
          r.status === 200 &&
          r.idempotenceKey === `billing-payment-${row.id}`,
      );
      expect(answered.length).toBeGreaterThanOrEqual(1);
      expect(answered.every((r) => r.replayed)).toBe(true);
    }
    // Both are real payments: paid, re-read, credited once each.
    for (const remote of fake.listPayments()) fake.pay(remote.id);
    const admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
    for (const row of stored) await admin.payments.syncPayment({ paymentId: row.id });
    expect((await after.wallet.getBalance({ userRef: user })).creditsAvailable).toBe(200n);
    expect(await admin.wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
    admin.close();
  } finally {
    after.close();
  }
}, 90_000);
