// A refund stays open until YooKassa says what happened to it. A refund whose create answer was
// lost, refused on a retry after an earlier attempt went through, or left unanswered past the
// Idempotence-Key's lifetime is found among its payment's refunds (GET /refunds?payment_id=…, by
// the billing_refund_id it carries) and follows YooKassa's state: the credits are taken back once.
// Only when YooKassa has no such refund is it canceled.
import { errorReason } from "@billing/client";
import { NotificationOutcome, RefundStatus } from "@billing/proto/billing/v1/payments_pb";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREATE_ABANDON_AFTER_MS } from "../../src/payments/index.js";
import { ManualClock } from "../support/helpers.js";
import {
  type BillingWithFake,
  countRows,
  singleAttemptClient,
  startBillingWithFake,
  waitFor,
} from "../support/payments-helpers.js";

const SWEEP_AGE_MS = 5 * 60_000;
const clock = new ManualClock();
let env: BillingWithFake;
beforeAll(async () => {
  env = await startBillingWithFake({
    label: "refund_lookup",
    clock,
    env: {
      BILLING_STARTER_FREE_OPERATIONS: "0",
      PAYMENTS_SWEEP_AGE_MS: String(SWEEP_AGE_MS),
      PAYMENTS_SWEEP_INTERVAL_MS: "50",
    },
  });
});
afterAll(async () => env?.close());

const dbUrl = () => env.billing.database.url;
const credits = async (userRef: string) =>
  (await env.billing.client("admin").wallet.getBalance({ userRef })).creditsAvailable;

/** Opens the user, buys 100 credits and has the payment paid and applied; answers its id. */
async function paidTopUp(user: string, key: string): Promise<string> {
  const bot = env.billing.client("bot");
  await bot.wallet.openAccount({ userRef: user });
  const created = await bot.payments.createTopUp({
    userRef: user,
    purchase: { case: "packageCode", value: "rub_100" },
    idempotencyKey: `${key}-top-up`,
  });
  const providerId = created.payment?.providerPaymentId ?? "";
  env.fake.pay(providerId);
  await env.billing
    .client("webhooks")
    .payments.handleNotification({ event: "payment.succeeded", objectId: providerId });
  expect(await credits(user)).toBe(100n);
  return created.payment?.paymentId ?? "";
}

/** RefundPayment with one attempt (no client retries); answers the error's reason, if any. */
async function refundOnce(paymentId: string, key: string): Promise<string | undefined> {
  const admin = singleAttemptClient(env.billing, "admin");
  try {
    await admin.payments.refundPayment({ paymentId, reason: "support", idempotencyKey: key });
    return undefined;
  } catch (error) {
    return errorReason(error);
  } finally {
    admin.close();
  }
}

async function refundRow(key: string): Promise<Record<string, unknown> | undefined> {
  return withPg(
    dbUrl(),
    async (pg) =>
      (await pg.query<Record<string, unknown>>(`select * from payment_refunds where request_key = $1`, [key]))
        .rows[0],
  );
}

/** YooKassa's refunds of the fake, for the payment billing knows as `paymentId`. */
function providerRefundsOf(paymentId: string) {
  return env.fake.listRefunds().filter((refund) => refund.metadata?.["billing_payment_id"] === paymentId);
}

/** After a later refund.succeeded notification too: taken back once, and the ledger agrees. */
async function expectTakenBackOnce(user: string, paymentId: string, key: string): Promise<void> {
  const [remote] = providerRefundsOf(paymentId);
  expect(remote?.status).toBe("succeeded");
  const notified = await env.billing
    .client("webhooks")
    .payments.handleNotification({ event: "refund.succeeded", objectId: remote?.id ?? "" });
  expect(notified.outcome).toBe(NotificationOutcome.UNCHANGED);
  expect(await refundRow(key)).toMatchObject({
    status: "SUCCEEDED",
    provider_refund_id: remote?.id,
    credits_reversed: "100",
    cancellation_party: null,
  });
  expect(await credits(user)).toBe(0n);
  const refundId = String((await refundRow(key))?.["id"]);
  expect(
    await countRows(dbUrl(), "ledger_transfers", `kind = 'PAYMENT_REFUND' and reference = '${refundId}'`),
  ).toBe(1);
  expect(await env.billing.client("admin").wallet.verifyLedger({})).toMatchObject({
    ok: true,
    violations: [],
  });
}

describe("a refund whose create answer never came follows YooKassa", () => {
  it("refused on a retry after an earlier attempt went through: found among the payment's refunds", async () => {
    const user = "telegram:5101";
    const paymentId = await paidTopUp(user, "lookup-4xx");
    // Attempt 1 makes the refund (it succeeds at once) but answers 500; the retry is refused.
    env.fake.injectFault("refunds.create", { type: "server_error", performed: true });
    env.fake.injectFault("refunds.create", { type: "error", status: 400, code: "invalid_request" });
    expect(await refundOnce(paymentId, "lookup-4xx")).toBeUndefined();
    env.fake.clearFaults();
    expect(providerRefundsOf(paymentId)).toHaveLength(1);
    expect(env.fake.requests.some((r) => r.endpoint === "refunds.list")).toBe(true);
    await expectTakenBackOnce(user, paymentId, "lookup-4xx");
  });

  it("unanswered past the key's lifetime: the sweep asks YooKassa instead of canceling it", async () => {
    const user = "telegram:5102";
    const paymentId = await paidTopUp(user, "lookup-23h");
    // The refund is made, but no answer ever reaches billing: every create answers 500.
    env.fake.injectFault("refunds.create", { type: "server_error", performed: true }, 500);
    expect(await refundOnce(paymentId, "lookup-23h")).toBe("PROVIDER_UNAVAILABLE");
    expect(await refundRow("lookup-23h")).toMatchObject({ status: "CREATING", provider_refund_id: null });
    expect(await credits(user)).toBe(100n);

    clock.advance(CREATE_ABANDON_AFTER_MS + SWEEP_AGE_MS);
    await waitFor("the sweep to settle the refund", async () => {
      const status = (await refundRow("lookup-23h"))?.["status"];
      return status === "CREATING" ? undefined : status;
    });
    env.fake.clearFaults();
    await expectTakenBackOnce(user, paymentId, "lookup-23h");
  });

  it("lost, then refund.succeeded arrives: matched by its billing_refund_id, taken back once", async () => {
    const user = "telegram:5103";
    const paymentId = await paidTopUp(user, "lookup-lost");
    env.fake.injectFault("refunds.create", { type: "drop_connection", performed: true }, 500);
    expect(await refundOnce(paymentId, "lookup-lost")).toBe("PROVIDER_UNAVAILABLE");
    const [remote] = providerRefundsOf(paymentId);
    const first = await env.billing
      .client("webhooks")
      .payments.handleNotification({ event: "refund.succeeded", objectId: remote?.id ?? "" });
    expect(first.outcome).toBe(NotificationOutcome.APPLIED);
    env.fake.clearFaults();
    await expectTakenBackOnce(user, paymentId, "lookup-lost");
  });

  it("refused with no refund at YooKassa: canceled, the replay answers the same refusal, credits stay", async () => {
    const user = "telegram:5104";
    const paymentId = await paidTopUp(user, "lookup-none");
    env.fake.injectFault("refunds.create", { type: "error", status: 403, code: "forbidden" });
    expect(await refundOnce(paymentId, "lookup-none")).toBe("PROVIDER_REJECTED");
    expect(providerRefundsOf(paymentId)).toHaveLength(0);
    expect(await refundRow("lookup-none")).toMatchObject({
      status: "CANCELED",
      cancellation_party: "billing",
      cancellation_reason: "provider_rejected:forbidden",
    });
    expect(await refundOnce(paymentId, "lookup-none")).toBe("PROVIDER_REJECTED");
    expect(await credits(user)).toBe(100n);
    // Nothing holds the payment's amount any more: a new refund goes through.
    const admin = env.billing.client("admin");
    const again = await admin.payments.refundPayment({
      paymentId,
      reason: "support",
      idempotencyKey: "lookup-none-2",
    });
    expect(again.refund).toMatchObject({ status: RefundStatus.SUCCEEDED, creditsReversed: 100n });
    expect(await credits(user)).toBe(0n);
  });
});
