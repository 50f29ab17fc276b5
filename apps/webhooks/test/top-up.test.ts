// The whole chain on real servers: the YooKassa fake sends its notifications to this webhooks app,
// which hands them to a real billing process over gRPC; billing re-reads each payment with GET and
// credits it once. Duplicates, reordering, forged bodies and foreign senders credit only what is due.
import { createBillingClient, type BillingClient } from "@billing/client";
import { PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import {
  type BillingProcess,
  type FakeYooKassa,
  startBillingProcess,
  startFakeYooKassa,
  uniqueName,
  withPg,
} from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhooks, type Webhooks } from "../src/index.js";
import {
  deleteDeadLetterStream,
  metrics,
  notificationCount,
  readDeadLetters,
  waitFor,
  webhooksConfig,
} from "./helpers.js";

const SHOP_ID = "100500";
const SECRET_KEY = "test_webhooks-e2e-secret";
const namespace = uniqueName("webhooks_e2e");
let fake: FakeYooKassa;
let billing: BillingProcess;
let webhooks: Webhooks;
let bot: BillingClient;
let admin: BillingClient;

beforeAll(async () => {
  fake = await startFakeYooKassa({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    notificationRetryDelaysMs: [20, 40],
  });
  billing = await startBillingProcess({
    label: "webhooks_e2e",
    env: {
      YOOKASSA_SHOP_ID: SHOP_ID,
      YOOKASSA_SECRET_KEY: SECRET_KEY,
      YOOKASSA_API_URL: fake.url,
      YOOKASSA_TIMEOUT_MS: "2000",
      YOOKASSA_UNSAFE_SHORT_TIMEOUT: "true",
      YOOKASSA_RETRY_DELAY_MS: "10",
      PAYMENTS_RETURN_URL: "https://t.me/example_bot",
    },
  });
  webhooks = await startWebhooks({
    config: webhooksConfig({
      BILLING_URL: billing.url,
      BILLING_TOKEN: billing.tokens.webhooks,
      // The fake sends from loopback; its "foreign" sender is 127.0.0.2.
      WEBHOOKS_ALLOWED_SENDERS: "127.0.0.1/32",
      NATS_NAMESPACE: namespace,
    }),
  });
  fake.setNotificationUrl(webhooks.webhookUrl);
  bot = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
  admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
});

afterAll(async () => {
  bot?.close();
  admin?.close();
  await webhooks?.close();
  await billing?.close();
  await fake?.close();
  await deleteDeadLetterStream(namespace);
});

async function topUp(userRef: string, key: string) {
  await bot.wallet.openAccount({ userRef });
  const created = await bot.payments.createTopUp({
    userRef,
    purchase: { case: "packageCode", value: "rub_100" },
    idempotencyKey: key,
  });
  if (created.payment === undefined) throw new Error("no payment");
  return { payment: created.payment, confirmationUrl: created.confirmationUrl };
}

const credits = async (userRef: string) => (await admin.wallet.getBalance({ userRef })).creditsAvailable;
const deliveriesOf = (providerId: string) => fake.deliveries.filter((d) => d.objectId === providerId);

describe("top-up through YooKassa, the webhooks app and billing", () => {
  it("create → pay on the checkout page → notification → credited once; statement and ledger agree", async () => {
    const user = "telegram:7001";
    const { payment, confirmationUrl } = await topUp(user, "e2e-1");
    expect(confirmationUrl).toBe(`${fake.origin}/checkout/${payment.providerPaymentId}`);
    expect((await fetch(confirmationUrl)).status).toBe(200);
    // What the checkout page's Pay button does (and what a newcomer does with curl).
    const paid = await fetch(`${fake.origin}/__control/payments/${payment.providerPaymentId}/pay`, {
      method: "POST",
      redirect: "manual",
    });
    expect(paid.status).toBeLessThan(400);
    await fake.notificationsSettled();

    expect(deliveriesOf(payment.providerPaymentId).map((d) => d.status)).toEqual([200]);
    expect(await credits(user)).toBe(100n);
    const statement = await bot.wallet.listTransactions({ userRef: user });
    expect(
      statement.transactions.map((t) => [TransactionKind[t.kind], t.amount, t.balanceAfter, t.reference]),
    ).toEqual([
      ["TOP_UP", 100n, 100n, payment.paymentId],
      ["STARTER_GRANT", 4n, 4n, "starter free operations"],
    ]);
    expect((await admin.payments.getPayment({ paymentId: payment.paymentId })).payment?.status).toBe(
      PaymentStatus.SUCCEEDED,
    );
    expect(await admin.wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
    expect(notificationCount(await metrics(webhooks.port), "payment.succeeded", "applied")).toBe(1);
  });

  it("the same notification four times at once credits once", async () => {
    const user = "telegram:7002";
    const { payment } = await topUp(user, "e2e-dup");
    fake.queueNotificationQuirk({ event: "payment.succeeded", duplicates: 3 });
    fake.pay(payment.providerPaymentId);
    await fake.notificationsSettled();
    expect(deliveriesOf(payment.providerPaymentId).map((d) => d.status)).toEqual([200, 200, 200, 200]);
    expect(await credits(user)).toBe(100n);
  });

  it("out of order: canceled after succeeded changes nothing; succeeded after canceled credits nothing", async () => {
    const paidUser = "telegram:7003";
    const declinedUser = "telegram:7004";
    const paid = (await topUp(paidUser, "e2e-order-a")).payment;
    const declined = (await topUp(declinedUser, "e2e-order-b")).payment;
    fake.holdNotifications();
    fake.pay(paid.providerPaymentId);
    fake.sendNotification({ paymentId: paid.providerPaymentId, event: "payment.canceled" });
    fake.decline(declined.providerPaymentId, "insufficient_funds");
    fake.sendNotification({ paymentId: declined.providerPaymentId, event: "payment.succeeded" });
    fake.releaseNotifications("fifo");
    await fake.notificationsSettled();
    expect(deliveriesOf(paid.providerPaymentId).map((d) => [d.event, d.status])).toEqual([
      ["payment.succeeded", 200],
      ["payment.canceled", 200],
    ]);
    expect(await credits(paidUser)).toBe(100n);
    expect(await credits(declinedUser)).toBe(0n);
    const [a, b] = await Promise.all(
      [paid, declined].map((p) => admin.payments.getPayment({ paymentId: p.paymentId })),
    );
    expect(a?.payment?.status).toBe(PaymentStatus.SUCCEEDED);
    expect(b?.payment).toMatchObject({
      status: PaymentStatus.CANCELED,
      cancellationReason: "insufficient_funds",
    });
  });

  it("a forged body (says succeeded, GET says pending) is accepted and credits nothing", async () => {
    const user = "telegram:7005";
    const { payment } = await topUp(user, "e2e-forged");
    fake.sendNotification({ paymentId: payment.providerPaymentId, forged: true });
    await fake.notificationsSettled();
    expect(deliveriesOf(payment.providerPaymentId).map((d) => [d.forged, d.status])).toEqual([[true, 200]]);
    expect(await credits(user)).toBe(0n);
    expect((await admin.payments.getPayment({ paymentId: payment.paymentId })).payment?.status).toBe(
      PaymentStatus.PENDING,
    );
    expect(
      notificationCount(await metrics(webhooks.port), "payment.succeeded", "unchanged"),
    ).toBeGreaterThanOrEqual(1);
  });

  it("a foreign sender is refused with 403 on every attempt and credits nothing; YooKassa's own delivery then does", async () => {
    const user = "telegram:7006";
    const { payment } = await topUp(user, "e2e-foreign");
    fake.queueNotificationQuirk({
      event: "payment.succeeded",
      fromForeignAddress: true,
      forwardedFor: "185.71.76.10",
    });
    fake.pay(payment.providerPaymentId);
    await fake.notificationsSettled();
    expect(deliveriesOf(payment.providerPaymentId).map((d) => [d.localAddress, d.status])).toEqual([
      ["127.0.0.2", 403],
      ["127.0.0.2", 403],
      ["127.0.0.2", 403],
    ]);
    expect(await credits(user)).toBe(0n);

    fake.sendNotification({ paymentId: payment.providerPaymentId });
    await fake.notificationsSettled();
    expect(deliveriesOf(payment.providerPaymentId).at(-1)?.status).toBe(200);
    expect(await credits(user)).toBe(100n);
    expect(await admin.wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
  });

  it("a payment billing finds inconsistent is answered 200 (redelivery cannot fix it), parked, and credits nothing", async () => {
    const user = "telegram:7007";
    const { payment } = await topUp(user, "e2e-mismatch");
    await withPg(billing.database.url, (pg) =>
      pg.query(`update payments set amount_minor = 50000, credits = 500 where id = $1`, [payment.paymentId]),
    );
    fake.pay(payment.providerPaymentId);
    await fake.notificationsSettled();
    expect(deliveriesOf(payment.providerPaymentId).map((d) => d.status)).toEqual([200]);
    expect(await credits(user)).toBe(0n);
    const letters = await waitFor("the parked notification", async () => {
      const parked = await readDeadLetters(namespace);
      return parked.length > 0 ? parked : undefined;
    });
    expect(letters).toEqual([
      expect.objectContaining({
        reason: "payment_mismatch",
        body: expect.stringContaining(payment.providerPaymentId),
      }),
    ]);
    expect(notificationCount(await metrics(webhooks.port), "payment.succeeded", "mismatch")).toBe(1);
    // Put it right so the ledger stays verifiable: the operator's fix, then SyncPayment credits once.
    await withPg(billing.database.url, (pg) =>
      pg.query(`update payments set amount_minor = 10000, credits = 100 where id = $1`, [payment.paymentId]),
    );
    await admin.payments.syncPayment({ paymentId: payment.paymentId });
    expect(await credits(user)).toBe(100n);
  });
});
