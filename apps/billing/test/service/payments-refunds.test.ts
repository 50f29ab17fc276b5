// RefundPayment: money back through YooKassa (POST /refunds under billing's own key), credits taken
// back once — at once when YooKassa answers succeeded, else on refund.succeeded or by the sweep —
// and refusals when the user has already spent the credits, unless forced.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason, fieldViolations } from "@billing/client";
import { NotificationOutcome, RefundStatus } from "@billing/proto/billing/v1/payments_pb";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../support/helpers.js";
import {
  type BillingWithFake,
  countRows,
  outboxSubjects,
  startBillingWithFake,
  waitFor,
} from "../support/payments-helpers.js";

function failure(error: unknown) {
  return {
    code: Code[ConnectError.from(error).code],
    reason: errorReason(error),
    fields: fieldViolations(error),
  };
}

/** Opens the user, buys `packageCode` and has it paid and applied; answers the payment. */
async function paidTopUp(env: BillingWithFake, user: string, key: string, packageCode = "rub_100") {
  const bot = env.billing.client("admin");
  await bot.wallet.openAccount({ userRef: user });
  const created = await bot.payments.createTopUp({
    userRef: user,
    purchase: { case: "packageCode", value: packageCode },
    // Keys are one namespace across commands: the top-up's must differ from the refund's.
    idempotencyKey: `${key}-top-up`,
  });
  const payment = created.payment;
  if (payment === undefined) throw new Error("no payment");
  env.fake.pay(payment.providerPaymentId);
  await env.billing
    .client("webhooks")
    .payments.handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId });
  return payment;
}

describe("refunds YooKassa completes at once", () => {
  let env: BillingWithFake;
  beforeAll(async () => {
    env = await startBillingWithFake({ label: "refunds", env: { BILLING_STARTER_FREE_OPERATIONS: "0" } });
  });
  afterAll(async () => env?.close());
  const admin = () => env.billing.client("admin");
  const credits = async (userRef: string) =>
    (await env.billing.client("admin").wallet.getBalance({ userRef })).creditsAvailable;

  it("a full refund takes the credits back once, whatever refund.succeeded notifications follow", async () => {
    const user = "telegram:4001";
    const payment = await paidTopUp(env, user, "refund-full-1");
    expect(await credits(user)).toBe(100n);

    const refunded = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "support #77",
      idempotencyKey: "refund-full-1",
    });
    expect(refunded.refund).toMatchObject({
      status: RefundStatus.SUCCEEDED,
      amountMinor: 10_000n,
      creditsReversed: 100n,
      reason: "support #77",
    });
    expect(refunded.payment?.refundedAmountMinor).toBe(10_000n);
    expect(await credits(user)).toBe(0n);
    const providerRefundId = refunded.refund?.providerRefundId ?? "";
    expect(env.fake.getRefund(providerRefundId)).toMatchObject({
      status: "succeeded",
      amount: { value: "100.00" },
      metadata: { billing_refund_id: refunded.refund?.refundId, billing_payment_id: payment.paymentId },
    });
    expect(env.fake.requests.find((r) => r.endpoint === "refunds.create")?.idempotenceKey).toBe(
      `billing-refund-${refunded.refund?.refundId}`,
    );

    const notified = await Promise.all(
      [1, 2, 3].map(() =>
        env.billing
          .client("webhooks")
          .payments.handleNotification({ event: "refund.succeeded", objectId: providerRefundId }),
      ),
    );
    expect(notified.map((n) => n.outcome)).toEqual([
      NotificationOutcome.UNCHANGED,
      NotificationOutcome.UNCHANGED,
      NotificationOutcome.UNCHANGED,
    ]);
    expect(await credits(user)).toBe(0n);

    // The same request again answers the same refund; another request under the key is refused.
    const replay = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "support #77",
      idempotencyKey: "refund-full-1",
    });
    expect(replay.refund?.refundId).toBe(refunded.refund?.refundId);
    const reused = await admin()
      .payments.refundPayment({
        paymentId: payment.paymentId,
        reason: "other",
        idempotencyKey: "refund-full-1",
      })
      .catch(failure);
    expect(reused).toMatchObject({ code: "AlreadyExists", reason: "IDEMPOTENCY_KEY_REUSED" });
    const again = await admin()
      .payments.refundPayment({
        paymentId: payment.paymentId,
        reason: "again",
        idempotencyKey: "refund-full-2",
      })
      .catch(failure);
    expect(again).toMatchObject({ code: "FailedPrecondition", reason: "PAYMENT_STATE" });
    expect(env.fake.listRefunds()).toHaveLength(1);

    const statement = await env.billing.client("admin").wallet.listTransactions({ userRef: user });
    expect(statement.transactions.map((t) => [TransactionKind[t.kind], t.amount, t.balanceAfter])).toEqual([
      ["PAYMENT_REFUND", -100n, 0n],
      ["TOP_UP", 100n, 100n],
    ]);
    expect(await outboxSubjects(env.billing.database.url)).toContain("billing.refund.succeeded");
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
  });

  it("partial refunds take back credits pro rata and add up to the whole", async () => {
    const user = "telegram:4002";
    const payment = await paidTopUp(env, user, "refund-partial-1", "rub_300");
    const first = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      amountMinor: 10_050n,
      reason: "partial",
      idempotencyKey: "refund-partial-1",
    });
    expect(first.refund?.creditsReversed).toBe(100n);
    const tooMuch = await admin()
      .payments.refundPayment({
        paymentId: payment.paymentId,
        amountMinor: 20_000n,
        reason: "too much",
        idempotencyKey: "refund-partial-2",
      })
      .catch(failure);
    expect(tooMuch).toMatchObject({
      code: "InvalidArgument",
      fields: { amount_minor: expect.stringContaining("at most 19950") },
    });
    const rest = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "the rest",
      idempotencyKey: "refund-partial-3",
    });
    expect(rest.refund).toMatchObject({ amountMinor: 19_950n, creditsReversed: 200n });
    expect(rest.payment?.refundedAmountMinor).toBe(30_000n);
    expect(await credits(user)).toBe(0n);
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true });
  });

  it("refuses to refund credits already spent unless forced; forced takes what is left", async () => {
    const user = "telegram:4003";
    const payment = await paidTopUp(env, user, "refund-spent-1");
    for (let i = 0; i < 9; i++) {
      await env.billing
        .client("admin")
        .wallet.charge({ userRef: user, operation: "generate", idempotencyKey: `spend-${i}` });
    }
    expect(await credits(user)).toBe(10n);
    const refundsBefore = env.fake.listRefunds().length;
    const refused = await admin()
      .payments.refundPayment({
        paymentId: payment.paymentId,
        reason: "chargeback",
        idempotencyKey: "refund-spent-1",
      })
      .catch(failure);
    expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "CREDITS_ALREADY_SPENT" });
    // Refused before calling YooKassa: no refund there, nothing stored here.
    expect(env.fake.listRefunds()).toHaveLength(refundsBefore);
    expect(
      await countRows(env.billing.database.url, "payment_refunds", `payment_id = '${payment.paymentId}'`),
    ).toBe(0);
    expect(await credits(user)).toBe(10n);

    const forced = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "chargeback",
      idempotencyKey: "refund-spent-2",
      force: true,
    });
    expect(forced.refund).toMatchObject({
      status: RefundStatus.SUCCEEDED,
      amountMinor: 10_000n,
      creditsReversed: 10n,
    });
    expect(await credits(user)).toBe(0n);
    expect(await admin().wallet.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
  });

  it("refuses refunds of payments that did not succeed", async () => {
    const user = "telegram:4004";
    await env.billing.client("admin").wallet.openAccount({ userRef: user });
    const created = await env.billing.client("admin").payments.createTopUp({
      userRef: user,
      purchase: { case: "packageCode", value: "rub_100" },
      idempotencyKey: "refund-pending-1",
    });
    const refused = await admin()
      .payments.refundPayment({
        paymentId: created.payment?.paymentId ?? "",
        reason: "x",
        idempotencyKey: "refund-of-pending-1",
      })
      .catch(failure);
    expect(refused).toMatchObject({ code: "FailedPrecondition", reason: "PAYMENT_STATE" });
    const unknown = await admin()
      .payments.refundPayment({
        paymentId: "00000000-0000-4000-8000-000000000000",
        reason: "x",
        idempotencyKey: "refund-unknown-1",
      })
      .catch(failure);
    expect(unknown).toMatchObject({ code: "NotFound", reason: "PAYMENT_NOT_FOUND" });
  });
});

describe("refunds YooKassa completes later", () => {
  const SWEEP_AGE_MS = 5 * 60_000;
  const clock = new ManualClock();
  let env: BillingWithFake;
  beforeAll(async () => {
    env = await startBillingWithFake({
      label: "refunds_pending",
      clock,
      fake: { refundsStartPending: true },
      env: { PAYMENTS_SWEEP_AGE_MS: String(SWEEP_AGE_MS), PAYMENTS_SWEEP_INTERVAL_MS: "50" },
    });
  });
  afterAll(async () => env?.close());
  const credits = async (userRef: string) =>
    (await env.billing.client("admin").wallet.getBalance({ userRef })).creditsAvailable;

  it("takes the credits back on refund.succeeded, once, even when it is delivered twice at once", async () => {
    const user = "telegram:4101";
    const payment = await paidTopUp(env, user, "later-1");
    const pending = await env.billing.client("admin").payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "support",
      idempotencyKey: "later-1",
    });
    expect(pending.refund).toMatchObject({ status: RefundStatus.PENDING, creditsReversed: 0n });
    expect(await credits(user)).toBe(100n);

    const refundId = pending.refund?.providerRefundId ?? "";
    env.fake.completeRefund(refundId);
    const results = await Promise.all(
      [1, 2].map(() =>
        env.billing
          .client("webhooks")
          .payments.handleNotification({ event: "refund.succeeded", objectId: refundId }),
      ),
    );
    expect(results.map((r) => NotificationOutcome[r.outcome]).sort()).toEqual(["APPLIED", "UNCHANGED"]);
    expect(await credits(user)).toBe(0n);
    expect(
      await countRows(
        env.billing.database.url,
        "ledger_transfers",
        `kind = 'PAYMENT_REFUND' and user_ref = '${user}'`,
      ),
    ).toBe(1);
  });

  it("the sweep settles a refund whose notification was lost", async () => {
    const user = "telegram:4102";
    const payment = await paidTopUp(env, user, "later-2");
    const pending = await env.billing.client("admin").payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "support",
      idempotencyKey: "later-2",
    });
    env.fake.completeRefund(pending.refund?.providerRefundId ?? "");
    clock.advance(SWEEP_AGE_MS + 1);
    await waitFor("the sweep to take the credits back", async () =>
      (await credits(user)) === 0n ? true : undefined,
    );
    expect(await env.billing.client("admin").wallet.verifyLedger({})).toMatchObject({
      ok: true,
      violations: [],
    });
  });
});
