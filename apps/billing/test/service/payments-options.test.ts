// Deployment variants: billing without a YooKassa shop (wallet only), a shop that sends 54-FZ
// receipts, and a live shop that must never credit YooKassa's test objects.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason, fieldViolations } from "@billing/client";
import { PaymentStatus, RefundStatus } from "@billing/proto/billing/v1/payments_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import {
  type BillingWithFake,
  countRows,
  paymentRow,
  startBillingWithFake,
} from "../support/payments-helpers.js";

function failure(error: unknown) {
  return {
    code: Code[ConnectError.from(error).code],
    reason: errorReason(error),
    fields: fieldViolations(error),
    metadata: ConnectError.from(error).message,
  };
}

describe("without a YooKassa shop (wallet-only deployment)", () => {
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "payments_off" });
  });
  afterAll(async () => billing?.close());

  it("serves ListTopUpOptions and refuses to create top-ups, clearly and storing nothing", async () => {
    const bot = billing.client("admin");
    expect((await bot.payments.listTopUpOptions({})).packages).toHaveLength(4);
    await bot.wallet.openAccount({ userRef: "telegram:5001" });
    const refused = await bot.payments
      .createTopUp({
        userRef: "telegram:5001",
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: "off-1",
        returnUrl: "https://t.me/example_bot",
      })
      .catch(failure);
    expect(refused).toMatchObject({
      code: "FailedPrecondition",
      reason: "PROVIDER_REJECTED",
      metadata: expect.stringContaining("payments are disabled"),
    });
    const notification = await billing
      .client("webhooks")
      .payments.handleNotification({
        event: "payment.succeeded",
        objectId: "2f1b8c3e-000f-5000-9000-000000000000",
      })
      .catch(failure);
    expect(notification).toMatchObject({ code: "FailedPrecondition", reason: "PROVIDER_REJECTED" });
    expect(await countRows(billing.database.url, "payments")).toBe(0);
    // The wallet works as before.
    expect((await bot.wallet.getBalance({ userRef: "telegram:5001" })).freeOperationsAvailable).toBe(4n);
  });
});

describe("a shop that sends receipts (54-FZ)", () => {
  let env: BillingWithFake;
  beforeAll(async () => {
    env = await startBillingWithFake({
      label: "payments_receipts",
      fake: { receiptsRequired: true },
      env: { PAYMENTS_RECEIPTS: "true", PAYMENTS_RECEIPT_VAT_CODE: "1" },
    });
  });
  afterAll(async () => env?.close());

  it("asks for a contact, sends a receipt with the payment and with its refund", async () => {
    const bot = env.billing.client("admin");
    const user = "telegram:5101";
    await bot.wallet.openAccount({ userRef: user });
    expect((await bot.payments.listTopUpOptions({})).receiptRequired).toBe(true);
    const missing = await bot.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_500" },
        idempotencyKey: "r-1",
      })
      .catch(failure);
    // "free" is in the catalogue but not for sale.
    const plan = await bot.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "planCode", value: "free" },
        idempotencyKey: "r-plan",
        customerEmail: "user@example.com",
      })
      .catch(failure);
    expect(plan).toMatchObject({ code: "InvalidArgument", reason: "UNKNOWN_PLAN" });
    expect(missing).toMatchObject({
      code: "InvalidArgument",
      fields: { customer_email: expect.stringContaining("54-FZ") },
    });
    expect(await countRows(env.billing.database.url, "payments")).toBe(0);

    const created = await bot.payments.createTopUp({
      userRef: user,
      purchase: { case: "packageCode", value: "rub_500" },
      idempotencyKey: "r-2",
      customerPhone: "+79001234567",
    });
    const providerId = created.payment?.providerPaymentId ?? "";
    // The fake refuses a payment without a valid receipt whose item sum equals the amount.
    expect(env.fake.getPayment(providerId)?.receipt_registration).toBe("pending");
    env.fake.pay(providerId);
    await env.billing
      .client("webhooks")
      .payments.handleNotification({ event: "payment.succeeded", objectId: providerId });
    const refunded = await env.billing.client("admin").payments.refundPayment({
      paymentId: created.payment?.paymentId ?? "",
      amountMinor: 20_000n,
      reason: "partial refund",
      idempotencyKey: "r-3",
    });
    expect(refunded.refund).toMatchObject({ status: RefundStatus.SUCCEEDED, creditsReversed: 200n });
    expect((await bot.wallet.getBalance({ userRef: user })).creditsAvailable).toBe(300n);
  });
});

describe("a live shop (test objects refused)", () => {
  let env: BillingWithFake;
  beforeAll(async () => {
    env = await startBillingWithFake({
      label: "payments_live",
      env: { YOOKASSA_ALLOW_TEST_PAYMENTS: "false" },
    });
  });
  afterAll(async () => env?.close());

  it("never offers or credits a payment YooKassa marks as a test", async () => {
    const bot = env.billing.client("admin");
    const user = "telegram:5201";
    await bot.wallet.openAccount({ userRef: user });
    const refused = await bot.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: "live-1",
      })
      .catch(failure);
    expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "PAYMENT_MISMATCH" });
    const replay = await bot.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: "live-1",
      })
      .catch(failure);
    expect(replay).toMatchObject({ code: "FailedPrecondition", reason: "PAYMENT_MISMATCH" });

    const [remote] = env.fake.listPayments();
    expect(remote?.test).toBe(true);
    const stored = (await bot.payments.listPayments({ userRef: user })).payments[0];
    expect(stored).toMatchObject({
      status: PaymentStatus.CANCELED,
      cancellationParty: "billing",
      cancellationReason: "payment_mismatch",
      confirmationUrl: "",
    });
    // Even if the test payment is paid and notified, nothing is credited.
    env.fake.pay(remote?.id ?? "");
    const notified = await env.billing
      .client("webhooks")
      .payments.handleNotification({ event: "payment.succeeded", objectId: remote?.id ?? "" })
      .catch(failure);
    expect(notified).toMatchObject({ code: "FailedPrecondition", reason: "PAYMENT_MISMATCH" });
    expect((await bot.wallet.getBalance({ userRef: user })).creditsAvailable).toBe(0n);
    expect((await paymentRow(env.billing.database.url, stored?.paymentId ?? ""))?.["credited_at"]).toBeNull();
  });
});
