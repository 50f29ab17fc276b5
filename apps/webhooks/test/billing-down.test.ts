// Both apps as real processes. While billing is down the webhooks app answers 5xx, so YooKassa
// keeps redelivering; once billing is back, the next delivery is accepted and credits once. The
// webhooks app stops gracefully on SIGTERM.
import { createBillingClient } from "@billing/client";
import {
  type AppProcess,
  type BillingProcess,
  type FakeYooKassa,
  freePort,
  NATS_URL,
  spawnApp,
  startBillingProcess,
  startFakeYooKassa,
  uniqueName,
  waitForHttpOk,
} from "@billing/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deleteDeadLetterStream, metrics, notificationCount, waitFor } from "./helpers.js";

const SHOP_ID = "100500";
const SECRET_KEY = "test_webhooks-down-secret";
const namespace = uniqueName("webhooks_down");
let fake: FakeYooKassa;
let billing: BillingProcess;
let billingAgain: AppProcess | undefined;
let webhooks: AppProcess;
let webhooksPort: number;

beforeAll(async () => {
  // Redeliveries spread over ~30 s, like YooKassa's (which go on for 24 h): time for a restart on a
  // loaded machine.
  fake = await startFakeYooKassa({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    notificationRetryDelaysMs: [300, 600, 1_000, 2_000, 4_000, 8_000, 15_000],
  });
  billing = await startBillingProcess({
    label: "webhooks_down",
    env: {
      YOOKASSA_SHOP_ID: SHOP_ID,
      YOOKASSA_SECRET_KEY: SECRET_KEY,
      YOOKASSA_API_URL: fake.url,
      YOOKASSA_TIMEOUT_MS: "2000",
      YOOKASSA_UNSAFE_SHORT_TIMEOUT: "true",
      PAYMENTS_RETURN_URL: "https://t.me/example_bot",
    },
  });
  webhooksPort = await freePort();
  webhooks = spawnApp("webhooks", {
    WEBHOOKS_HOST: "127.0.0.1",
    WEBHOOKS_PORT: String(webhooksPort),
    WEBHOOKS_ALLOWED_SENDERS: "127.0.0.1/32",
    WEBHOOKS_BILLING_TIMEOUT_MS: "1500",
    BILLING_URL: billing.url,
    BILLING_TOKEN: billing.tokens.webhooks,
    NATS_URL,
    NATS_NAMESPACE: namespace,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
  });
  await waitForHttpOk(`http://127.0.0.1:${webhooksPort}/readyz`, webhooks);
  fake.setNotificationUrl(`http://127.0.0.1:${webhooksPort}/yookassa/webhook`);
});

afterAll(async () => {
  await webhooks?.stop();
  await billingAgain?.stop();
  await billing?.close();
  await fake?.close();
  await deleteDeadLetterStream(namespace);
});

it("answers 5xx while billing is down and 200 once it is back; YooKassa's redelivery credits once", async () => {
  const user = "telegram:8001";
  const bot = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
  await bot.wallet.openAccount({ userRef: user });
  const created = await bot.payments.createTopUp({
    userRef: user,
    purchase: { case: "packageCode", value: "rub_1000" },
    idempotencyKey: "down-1",
  });
  bot.close();
  const providerId = created.payment?.providerPaymentId ?? "";

  await billing.app.kill();
  fake.pay(providerId);
  await waitFor("a refused delivery", () =>
    Promise.resolve(
      fake.deliveries.some((d) => d.objectId === providerId && d.status === 503) ? true : undefined,
    ),
  );
  expect(fake.deliveries.filter((d) => d.objectId === providerId).every((d) => d.status === 503)).toBe(true);

  billingAgain = spawnApp("billing", billing.env);
  await waitForHttpOk(`${billing.metricsUrl}/readyz`, billingAgain);
  await fake.notificationsSettled(45_000);
  const statuses = fake.deliveries.filter((d) => d.objectId === providerId).map((d) => d.status);
  expect(statuses.at(-1)).toBe(200);
  expect(statuses.slice(0, -1).every((s) => s === 503)).toBe(true);

  const after = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
  expect((await after.wallet.getBalance({ userRef: user })).creditsAvailable).toBe(1_000n);
  const adminClient = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
  expect(await adminClient.wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
  after.close();
  adminClient.close();

  const text = await metrics(webhooksPort);
  expect(notificationCount(text, "payment.succeeded", "unavailable")).toBe(statuses.length - 1);
  // One delivery was accepted. It is "applied", unless the call that applied it outlived the
  // webhooks app's deadline (billing just restarted, on a loaded machine): that delivery was
  // answered 503, and the next one found the payment already credited ("unchanged").
  expect(
    notificationCount(text, "payment.succeeded", "applied") +
      notificationCount(text, "payment.succeeded", "unchanged"),
  ).toBe(1);
  expect(await webhooks.stop()).toBe(0);
}, 180_000);
