// Telegram Stars through billing: the Stars catalogue, a pending payment from CreateTopUp (its
// invoice), the pre-checkout check, crediting once per telegram_payment_charge_id, the refusals
// that credit nothing, refunds through refundStarPayment (against the Telegram fake, 429 and lost
// answers included) and the invoice's expiry — each with exact balances and VerifyLedger ok.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason, fieldViolations } from "@billing/client";
import {
  NotificationOutcome,
  PaymentProvider,
  PaymentStatus,
  RefundStatus,
} from "@billing/proto/billing/v1/payments_pb";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { type FakeTelegram, metricValue, startFakeTelegram } from "@billing/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerSnapshot, ManualClock } from "../support/helpers.js";
import {
  type BillingWithFake,
  countRows,
  outboxSubjects,
  startBillingWithFake,
  waitFor,
} from "../support/payments-helpers.js";

const TOKEN = "7000002:stars-billing-SECRET_token";
const DAY_MS = 86_400_000;

function failure(error: unknown) {
  return {
    code: Code[ConnectError.from(error).code],
    reason: errorReason(error),
    fields: fieldViolations(error),
  };
}

async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    return failure(error);
  }
  throw new Error("expected a refusal");
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("missing");
  return value;
}

let env: BillingWithFake;
let telegram: FakeTelegram;
const clock = new ManualClock(new Date("2026-12-03T10:00:00Z"));

beforeAll(async () => {
  telegram = await startFakeTelegram({ token: TOKEN });
  env = await startBillingWithFake({
    label: "stars",
    clock,
    env: {
      BILLING_STARTER_FREE_OPERATIONS: "0",
      STARS_PACKAGES: "50,150",
      STARS_RATE: "50:100",
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_TIMEOUT_MS: "2000",
      TELEGRAM_RETRY_AFTER_MAX_MS: "1000",
    },
  });
});
afterAll(async () => {
  await env?.close();
  await telegram?.close();
});

const bot = () => env.billing.client("bot");
const admin = () => env.billing.client("admin");
const credits = async (userRef: string) => (await admin().wallet.getBalance({ userRef })).creditsAvailable;
const verifyOk = async () => {
  const verified = await admin().wallet.verifyLedger({});
  expect(verified.violations).toEqual([]);
  expect(verified.ok).toBe(true);
};

let users = 5000;
/** A fresh Telegram user with an account and a pending Stars payment of `packageCode`. */
async function pendingStars(packageCode = "stars_50") {
  const userId = ++users;
  const userRef = `telegram:${userId}`;
  await bot().wallet.openAccount({ userRef });
  const created = await bot().payments.createTopUp({
    userRef,
    provider: PaymentProvider.TELEGRAM_STARS,
    purchase: { case: "packageCode", value: packageCode },
    idempotencyKey: `stars-${userId}-create`,
  });
  const payment = created.payment;
  const invoice = created.starsInvoice;
  if (payment === undefined || invoice === undefined) throw new Error("no payment or invoice");
  return { userId, userRef, payment, invoice, created };
}

/** What Telegram sends when the user paid: a real charge in the fake (so it can be refunded). */
function charge(userId: number, payload: string, stars: bigint, currency = "XTR") {
  const message = telegram.successfulPayment(
    { id: userId, first_name: "Payer" },
    // Telegram's JSON carries the amount as an integer.
    { currency, total_amount: Number(stars), invoice_payload: payload },
  );
  const paid = message.successful_payment;
  if (paid === undefined) throw new Error("no successful_payment");
  return {
    userRef: `telegram:${userId}`,
    invoicePayload: payload,
    currency,
    totalAmount: stars,
    telegramPaymentChargeId: paid.telegram_payment_charge_id,
    providerPaymentChargeId: paid.provider_payment_charge_id,
  };
}

describe("the Stars catalogue and CreateTopUp", () => {
  it("lists the Stars packages and the rate next to the RUB packages", async () => {
    const options = await bot().payments.listTopUpOptions({});
    expect(options.packages.map((p) => p.packageCode)).toEqual(["rub_100", "rub_300", "rub_500", "rub_1000"]);
    expect(options.starsPackages.map((p) => [p.packageCode, p.amountMinor, p.credits])).toEqual([
      ["stars_50", 50n, 100n],
      ["stars_150", 150n, 300n],
    ]);
    expect(options.starsRate).toMatchObject({ stars: 50n, credits: 100n });
  });

  it("stores a pending Stars payment and its invoice; a replay answers the same one; nothing credited yet", async () => {
    const { userRef, payment, invoice, userId } = await pendingStars("stars_150");
    expect(payment).toMatchObject({
      provider: PaymentProvider.TELEGRAM_STARS,
      status: PaymentStatus.PENDING,
      currency: "XTR",
      amountMinor: 150n,
      credits: 300n,
      packageCode: "stars_150",
      providerPaymentId: "",
      confirmationUrl: "",
    });
    expect(invoice).toMatchObject({ payload: payment.paymentId, currency: "XTR", amount: 150n });
    expect(invoice.title).toBe("300 кредитов");
    const replay = await bot().payments.createTopUp({
      userRef,
      provider: PaymentProvider.TELEGRAM_STARS,
      purchase: { case: "packageCode", value: "stars_150" },
      idempotencyKey: `stars-${userId}-create`,
    });
    expect(replay.payment?.paymentId).toBe(payment.paymentId);
    expect(await countRows(env.billing.database.url, "payments", `user_ref = '${userRef}'`)).toBe(1);
    expect(await credits(userRef)).toBe(0n);
    const reused = await refusal(
      bot().payments.createTopUp({
        userRef,
        provider: PaymentProvider.TELEGRAM_STARS,
        purchase: { case: "packageCode", value: "stars_50" },
        idempotencyKey: `stars-${userId}-create`,
      }),
    );
    expect(reused).toMatchObject({ code: "AlreadyExists", reason: "IDEMPOTENCY_KEY_REUSED" });
  });

  it("refuses what cannot be paid with Stars, each with its field, and stores nothing", async () => {
    const before = await countRows(env.billing.database.url, "payments");
    const ask = (
      userRef: string,
      purchase: { case: "packageCode"; value: string } | { case: "amountMinor"; value: bigint },
    ) =>
      refusal(
        bot().payments.createTopUp({
          userRef,
          provider: PaymentProvider.TELEGRAM_STARS,
          purchase,
          idempotencyKey: `stars-refused-${userRef}-${purchase.case}`,
        }),
      );
    expect(await ask("service:42", { case: "packageCode", value: "stars_50" })).toMatchObject({
      code: "InvalidArgument",
      fields: { user_ref: expect.any(String) },
    });
    expect(await ask("telegram:5999", { case: "packageCode", value: "rub_100" })).toMatchObject({
      code: "InvalidArgument",
      fields: { package_code: expect.any(String) },
    });
    expect(await ask("telegram:5999", { case: "amountMinor", value: 5000n })).toMatchObject({
      code: "InvalidArgument",
      fields: { package_code: expect.any(String) },
    });
    expect(await countRows(env.billing.database.url, "payments")).toBe(before);
  });
});

describe("pre-checkout", () => {
  it("accepts the order of a pending payment and refuses any other, with typed reasons", async () => {
    const { userRef, payment } = await pendingStars();
    const order = { userRef, invoicePayload: payment.paymentId, currency: "XTR", totalAmount: 50n };
    expect((await bot().payments.checkStarsPayment(order)).payment?.paymentId).toBe(payment.paymentId);
    expect(await refusal(bot().payments.checkStarsPayment({ ...order, totalAmount: 49n }))).toMatchObject({
      code: "FailedPrecondition",
      reason: "PAYMENT_MISMATCH",
    });
    expect(await refusal(bot().payments.checkStarsPayment({ ...order, currency: "RUB" }))).toMatchObject({
      reason: "PAYMENT_MISMATCH",
    });
    expect(
      await refusal(bot().payments.checkStarsPayment({ ...order, userRef: "telegram:1" })),
    ).toMatchObject({
      reason: "PAYMENT_MISMATCH",
    });
    expect(
      await refusal(bot().payments.checkStarsPayment({ ...order, invoicePayload: "not-ours" })),
    ).toMatchObject({ code: "NotFound", reason: "PAYMENT_NOT_FOUND" });
    expect(await refusal(bot().payments.checkStarsPayment({ ...order, userRef: "x" }))).toMatchObject({
      code: "InvalidArgument",
    });
  });
});

describe("crediting a successful_payment", () => {
  it("credits exactly once per charge: concurrent duplicates and replays answer the same payment", async () => {
    const { userId, userRef, payment } = await pendingStars();
    const paid = charge(userId, payment.paymentId, 50n);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => bot().payments.completeStarsPayment(paid)),
    );
    expect(answers.filter((a) => a.outcome === NotificationOutcome.APPLIED)).toHaveLength(1);
    expect(answers.filter((a) => a.outcome === NotificationOutcome.UNCHANGED)).toHaveLength(4);
    for (const answer of answers) {
      expect(answer.payment).toMatchObject({
        paymentId: payment.paymentId,
        status: PaymentStatus.SUCCEEDED,
        providerPaymentId: paid.telegramPaymentChargeId,
        provider: PaymentProvider.TELEGRAM_STARS,
      });
    }
    expect(await credits(userRef)).toBe(100n);
    const statement = await bot().wallet.listTransactions({ userRef, pageSize: 10 });
    expect(statement.transactions.filter((t) => t.kind === TransactionKind.TOP_UP)).toEqual([
      expect.objectContaining({ amount: 100n, reference: payment.paymentId }),
    ]);
    expect(
      (await outboxSubjects(env.billing.database.url)).filter((s) => s === "billing.payment.succeeded"),
    ).not.toHaveLength(0);
    const listed = await bot().payments.listPayments({ userRef });
    expect(listed.payments.map((p) => [p.provider, p.status])).toEqual([
      [PaymentProvider.TELEGRAM_STARS, PaymentStatus.SUCCEEDED],
    ]);
    expect((await admin().payments.getPayment({ paymentId: payment.paymentId })).payment?.provider).toBe(
      PaymentProvider.TELEGRAM_STARS,
    );
    // Paid: a second pre-checkout for it is refused.
    expect(
      await refusal(
        bot().payments.checkStarsPayment({
          userRef,
          invoicePayload: payment.paymentId,
          currency: "XTR",
          totalAmount: 50n,
        }),
      ),
    ).toMatchObject({ reason: "PAYMENT_STATE" });
    await verifyOk();
  });

  it("credits nothing for a charge that disagrees, and changes no ledger row", async () => {
    const { userId, userRef, payment } = await pendingStars();
    const snapshot = await ledgerSnapshot(env.billing.database.url);
    const cases = [
      charge(userId, payment.paymentId, 49n),
      charge(userId, payment.paymentId, 50n, "USD"),
      charge(userId, "00000000-0000-4000-8000-000000000000", 50n),
      charge(userId, "a payload of nobody", 50n),
      { ...charge(userId + 1, payment.paymentId, 50n) },
    ];
    for (const bad of cases) {
      expect(await refusal(bot().payments.completeStarsPayment(bad))).toMatchObject({
        code: "FailedPrecondition",
        reason: "PAYMENT_MISMATCH",
      });
    }
    expect(await ledgerSnapshot(env.billing.database.url)).toBe(snapshot);
    expect((await admin().payments.getPayment({ paymentId: payment.paymentId })).payment?.status).toBe(
      PaymentStatus.PENDING,
    );
    expect(await credits(userRef)).toBe(0n);
    expect(
      await metricValue(env.billing.metricsUrl, "billing_payment_mismatches_total"),
    ).toBeGreaterThanOrEqual(cases.length);
    await verifyOk();
  });

  it("refuses a second charge for a paid payment, and the same charge id with other details", async () => {
    const { userId, userRef, payment } = await pendingStars();
    const first = charge(userId, payment.paymentId, 50n);
    await bot().payments.completeStarsPayment(first);
    expect(
      await refusal(bot().payments.completeStarsPayment(charge(userId, payment.paymentId, 50n))),
    ).toMatchObject({
      reason: "PAYMENT_MISMATCH",
    });
    expect(
      await refusal(bot().payments.completeStarsPayment({ ...first, providerPaymentChargeId: "other" })),
    ).toMatchObject({ code: "AlreadyExists", reason: "IDEMPOTENCY_KEY_REUSED" });
    expect(await credits(userRef)).toBe(100n);
    await verifyOk();
  });

  it("property: any interleaving of good, duplicate and bad charges credits each paid payment once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ payment: fc.nat(2), kind: fc.constantFrom("good", "dup", "amount", "payload") }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        async (steps) => {
          const userId = ++users;
          const userRef = `telegram:${userId}`;
          await bot().wallet.openAccount({ userRef });
          const payments = await Promise.all(
            [0, 1, 2].map(async (i) => {
              const created = await bot().payments.createTopUp({
                userRef,
                provider: PaymentProvider.TELEGRAM_STARS,
                purchase: { case: "packageCode", value: i === 2 ? "stars_150" : "stars_50" },
                idempotencyKey: `stars-prop-${userId}-${i}`,
              });
              return must(created.payment);
            }),
          );
          const charges = new Map<number, ReturnType<typeof charge>>();
          for (const step of steps) {
            const target = must(payments[step.payment]);
            const amount = target.amountMinor;
            let sent: ReturnType<typeof charge>;
            if (step.kind === "good" || step.kind === "dup") {
              sent = charges.get(step.payment) ?? charge(userId, target.paymentId, amount);
              charges.set(step.payment, sent);
            } else if (step.kind === "amount") sent = charge(userId, target.paymentId, amount + 1n);
            else {
              // Another payment id: its last character changed (to one it is not already).
              const last = target.paymentId.endsWith("0") ? "1" : "0";
              sent = charge(userId, `${target.paymentId.slice(0, -1)}${last}`, amount);
            }
            await bot()
              .payments.completeStarsPayment(sent)
              .catch((error: unknown) => {
                if (errorReason(error) !== "PAYMENT_MISMATCH") throw error;
              });
          }
          const expected = [...charges.keys()].reduce((sum, i) => sum + must(payments[i]).credits, 0n);
          expect(await credits(userRef)).toBe(expected);
        },
      ),
      { numRuns: 8 },
    );
    await verifyOk();
  });
});

describe("refunds through refundStarPayment", () => {
  async function paidStars() {
    const pending = await pendingStars();
    const paid = charge(pending.userId, pending.payment.paymentId, 50n);
    await bot().payments.completeStarsPayment(paid);
    return { ...pending, paid };
  }

  it("refunds the charge at Telegram and takes the credits back once; a replay changes nothing", async () => {
    const { userRef, payment, paid } = await paidStars();
    expect(await credits(userRef)).toBe(100n);
    // Telegram says "wait" once: billing waits it out (within its ceiling) and retries.
    telegram.failNext("refundStarPayment", { type: "tooManyRequests", retryAfterS: 0.05 });
    const refund = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "user asked",
      idempotencyKey: `stars-refund-${payment.paymentId}`,
    });
    expect(refund.refund).toMatchObject({
      status: RefundStatus.SUCCEEDED,
      amountMinor: 50n,
      creditsReversed: 100n,
    });
    expect(refund.payment?.refundedAmountMinor).toBe(50n);
    expect(await credits(userRef)).toBe(0n);
    const calls = telegram.calls("refundStarPayment");
    expect(
      calls.filter((c) => c.params["telegram_payment_charge_id"] === paid.telegramPaymentChargeId).length,
    ).toBe(2);
    const replay = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "user asked",
      idempotencyKey: `stars-refund-${payment.paymentId}`,
    });
    expect(replay.refund?.refundId).toBe(refund.refund?.refundId);
    expect(await credits(userRef)).toBe(0n);
    expect(
      await refusal(
        admin().payments.refundPayment({
          paymentId: payment.paymentId,
          reason: "again",
          idempotencyKey: `again-${payment.paymentId}`,
        }),
      ),
    ).toMatchObject({ reason: "PAYMENT_STATE" });
    await verifyOk();
  });

  it("an answer lost after Telegram refunded: the retry's CHARGE_ALREADY_REFUNDED settles it", async () => {
    const { userRef, payment } = await paidStars();
    telegram.failNext("refundStarPayment", { type: "drop", applied: true });
    const refund = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "lost answer",
      idempotencyKey: `stars-refund-lost-${payment.paymentId}`,
    });
    expect(refund.refund?.status).toBe(RefundStatus.SUCCEEDED);
    expect(await credits(userRef)).toBe(0n);
    await verifyOk();
  });

  it("refuses credits already spent unless forced, and a partial Stars refund", async () => {
    const { userRef, payment } = await paidStars();
    await admin().wallet.charge({
      userRef,
      operation: "generate",
      idempotencyKey: `spend-${payment.paymentId}`,
    });
    expect(await credits(userRef)).toBe(90n);
    const calls = telegram.calls("refundStarPayment").length;
    expect(
      await refusal(
        admin().payments.refundPayment({
          paymentId: payment.paymentId,
          reason: "r",
          idempotencyKey: `spent-${payment.paymentId}`,
        }),
      ),
    ).toMatchObject({ code: "FailedPrecondition", reason: "CREDITS_ALREADY_SPENT" });
    expect(
      await refusal(
        admin().payments.refundPayment({
          paymentId: payment.paymentId,
          amountMinor: 20n,
          reason: "r",
          idempotencyKey: `partial-${payment.paymentId}`,
          force: true,
        }),
      ),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: { amount_minor: expect.any(String) },
    });
    expect(telegram.calls("refundStarPayment")).toHaveLength(calls);
    const forced = await admin().payments.refundPayment({
      paymentId: payment.paymentId,
      reason: "forced",
      idempotencyKey: `forced-${payment.paymentId}`,
      force: true,
    });
    expect(forced.refund).toMatchObject({ status: RefundStatus.SUCCEEDED, creditsReversed: 90n });
    expect(await credits(userRef)).toBe(0n);
    await verifyOk();
  });

  it("Telegram refusing the refund (CHARGE_NOT_FOUND) cancels it and takes nothing back", async () => {
    const { userRef, payment } = await paidStars();
    // Telegram keeps refusing (its answer does not change on a repeat, which the lifecycle tries).
    telegram.storm("refundStarPayment", {
      type: "error",
      errorCode: 400,
      description: "Bad Request: CHARGE_NOT_FOUND",
    });
    expect(
      await refusal(
        admin().payments.refundPayment({
          paymentId: payment.paymentId,
          reason: "r",
          idempotencyKey: `nf-${payment.paymentId}`,
        }),
      ),
    ).toMatchObject({ code: "FailedPrecondition", reason: "PROVIDER_REJECTED" });
    telegram.stopStorms();
    expect(await credits(userRef)).toBe(100n);
    const refunds = await countRows(
      env.billing.database.url,
      "payment_refunds",
      `payment_id = '${payment.paymentId}' and status = 'CANCELED'`,
    );
    expect(refunds).toBe(1);
    await verifyOk();
  });
});

describe("an invoice nobody paid", () => {
  it("is canceled by the sweep once expired; a payment Telegram reports after that still credits once", async () => {
    const { userId, userRef, payment } = await pendingStars();
    clock.advance(DAY_MS + 1);
    await waitFor("the sweep to cancel the expired invoice", async () =>
      (await admin().payments.getPayment({ paymentId: payment.paymentId })).payment?.status ===
      PaymentStatus.CANCELED
        ? true
        : undefined,
    );
    const canceled = (await admin().payments.getPayment({ paymentId: payment.paymentId })).payment;
    expect(canceled).toMatchObject({
      cancellationParty: "billing",
      cancellationReason: "expired_on_invoice",
    });
    expect(
      await refusal(
        bot().payments.checkStarsPayment({
          userRef,
          invoicePayload: payment.paymentId,
          currency: "XTR",
          totalAmount: 50n,
        }),
      ),
    ).toMatchObject({ reason: "PAYMENT_STATE" });
    // A pre-checkout answered just before the expiry: the money is taken, billing credits it.
    const late = await bot().payments.completeStarsPayment(charge(userId, payment.paymentId, 50n));
    expect(late).toMatchObject({
      outcome: NotificationOutcome.APPLIED,
      payment: { status: PaymentStatus.SUCCEEDED },
    });
    expect(await credits(userRef)).toBe(100n);
    await verifyOk();
  });
});
