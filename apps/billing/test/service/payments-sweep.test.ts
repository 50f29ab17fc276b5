// The background sweep: payments left unsettled longer than the configured age are re-read (a lost
// notification never loses money), creates that never got an answer are resumed under the same
// Idempotence-Key, and creates unanswered for too long are given up. Time moves by a ManualClock.
import { PaymentStatus } from "@billing/proto/billing/v1/payments_pb";
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREATE_ABANDON_AFTER_MS } from "../../src/payments/payments.js";
import { ManualClock } from "../support/helpers.js";
import {
  type BillingWithFake,
  countRows,
  paymentRow,
  singleAttemptClient,
  startBillingWithFake,
  waitFor,
} from "../support/payments-helpers.js";

const SWEEP_AGE_MS = 5 * 60_000;
const clock = new ManualClock();
let env: BillingWithFake;
beforeAll(async () => {
  env = await startBillingWithFake({
    label: "payments_sweep",
    clock,
    env: { PAYMENTS_SWEEP_AGE_MS: String(SWEEP_AGE_MS), PAYMENTS_SWEEP_INTERVAL_MS: "50" },
  });
});
afterAll(async () => env?.close());

const bot = () => env.billing.client("admin");
const dbUrl = () => env.billing.database.url;

async function status(paymentId: string): Promise<unknown> {
  return (await paymentRow(dbUrl(), paymentId))?.["status"];
}

describe("payments sweep", () => {
  it("credits a paid payment whose notification was lost, once its age passes", async () => {
    const user = "telegram:3001";
    await bot().wallet.openAccount({ userRef: user });
    const created = await bot().payments.createTopUp({
      userRef: user,
      purchase: { case: "packageCode", value: "rub_500" },
      idempotencyKey: "sweep-lost-1",
    });
    const payment = created.payment;
    if (payment === undefined) throw new Error("no payment");
    env.fake.pay(payment.providerPaymentId);
    // Not due yet: the sweep leaves young payments to their notifications.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await status(payment.paymentId)).toBe("PENDING");

    clock.advance(SWEEP_AGE_MS + 1);
    await waitFor("the sweep to credit", async () =>
      (await status(payment.paymentId)) === "SUCCEEDED" ? true : undefined,
    );
    expect((await bot().wallet.getBalance({ userRef: user })).creditsAvailable).toBe(500n);
    expect(
      await countRows(dbUrl(), "ledger_transfers", `kind = 'TOP_UP' and reference = '${payment.paymentId}'`),
    ).toBe(1);
    expect((await paymentRow(dbUrl(), payment.paymentId))?.["next_sync_at"]).toBeNull();
  });

  it("re-reads a pending payment at most once per age", async () => {
    const user = "telegram:3002";
    await bot().wallet.openAccount({ userRef: user });
    const created = await bot().payments.createTopUp({
      userRef: user,
      purchase: { case: "packageCode", value: "rub_100" },
      idempotencyKey: "sweep-pending-1",
    });
    const providerId = created.payment?.providerPaymentId ?? "";
    const gets = () =>
      env.fake.requests.filter((r) => r.endpoint === "payments.get" && r.path.includes(providerId));
    clock.advance(SWEEP_AGE_MS + 1);
    await waitFor("one re-read", () => Promise.resolve(gets().length === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(gets()).toHaveLength(1);
    expect(await status(created.payment?.paymentId ?? "")).toBe("PENDING");
  });

  it("resumes a create that never got an answer under the same key: one payment at YooKassa", async () => {
    const user = "telegram:3003";
    await bot().wallet.openAccount({ userRef: user });
    env.fake.injectFault("payments.create", { type: "drop_connection", performed: true }, 4);
    const before = env.fake.listPayments().length;
    const once = singleAttemptClient(env.billing, "admin");
    await once.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_300" },
        idempotencyKey: "sweep-creating-1",
      })
      .then(
        () => expect.fail("the create should have been left unanswered"),
        () => undefined,
      )
      .finally(() => once.close());
    const [row] = await withPg(
      dbUrl(),
      async (pg) =>
        (
          await pg.query<{ id: string; status: string }>(
            `select id, status from payments where request_key = 'sweep-creating-1'`,
          )
        ).rows,
    );
    expect(row?.status).toBe("CREATING");
    const paymentId = row?.id ?? "";

    clock.advance(SWEEP_AGE_MS + 1);
    await waitFor("the sweep to resume the create", async () =>
      (await status(paymentId)) === "PENDING" ? true : undefined,
    );
    expect(env.fake.listPayments().length).toBe(before + 1);
    const creates = env.fake.requests.filter(
      (r) => r.endpoint === "payments.create" && r.idempotenceKey === `billing-payment-${paymentId}`,
    );
    expect(creates).toHaveLength(5);
    expect(creates.at(-1)).toMatchObject({ status: 200, replayed: true });
    const shown = await bot().payments.getPayment({ paymentId });
    expect(shown.payment?.confirmationUrl).toContain("/checkout/");
  });

  it("gives up a create still unanswered when YooKassa's key may have expired; nobody could have paid it", async () => {
    const user = "telegram:3004";
    await bot().wallet.openAccount({ userRef: user });
    // Down for good: nothing performed, every attempt dropped (the initial call and any sweep).
    env.fake.injectFault("payments.create", { type: "drop_connection" }, 200);
    const once = singleAttemptClient(env.billing, "admin");
    await once.payments
      .createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: "sweep-abandon-1",
      })
      .catch(() => undefined)
      .finally(() => once.close());
    const [row] = await withPg(
      dbUrl(),
      async (pg) =>
        (await pg.query<{ id: string }>(`select id from payments where request_key = 'sweep-abandon-1'`))
          .rows,
    );
    const paymentId = row?.id ?? "";
    clock.advance(CREATE_ABANDON_AFTER_MS + SWEEP_AGE_MS);
    await waitFor("the sweep to give it up", async () =>
      (await status(paymentId)) === "CANCELED" ? true : undefined,
    );
    env.fake.clearFaults();
    expect(await paymentRow(dbUrl(), paymentId)).toMatchObject({
      cancellation_party: "billing",
      cancellation_reason: "create_unanswered",
      provider_payment_id: null,
    });
    const shown = await bot().payments.getPayment({ paymentId });
    expect(shown.payment).toMatchObject({ status: PaymentStatus.CANCELED, confirmationUrl: "" });
  });

  it("several sweeps at once (instances side by side) credit each payment once", async () => {
    const users = ["telegram:3011", "telegram:3012", "telegram:3013", "telegram:3014", "telegram:3015"];
    const ids: string[] = [];
    const providerIds: string[] = [];
    for (const [i, user] of users.entries()) {
      await bot().wallet.openAccount({ userRef: user });
      const created = await bot().payments.createTopUp({
        userRef: user,
        purchase: { case: "packageCode", value: "rub_100" },
        idempotencyKey: `sweep-many-${i}`,
      });
      env.fake.pay(created.payment?.providerPaymentId ?? "");
      ids.push(created.payment?.paymentId ?? "");
      providerIds.push(created.payment?.providerPaymentId ?? "");
    }
    clock.advance(SWEEP_AGE_MS + 1);
    const payments = env.billing.server.context().payments;
    await Promise.all([payments.sweep(50), payments.sweep(50), payments.sweep(50)]);
    await waitFor("all credited", async () => {
      const rows = await Promise.all(ids.map(status));
      return rows.every((s) => s === "SUCCEEDED") ? true : undefined;
    });
    for (const user of users)
      expect((await bot().wallet.getBalance({ userRef: user })).creditsAvailable).toBe(100n);
    // A claim moves the row's next re-read forward, so no two sweeps read the same payment.
    for (const providerId of providerIds) {
      expect(
        env.fake.requests.filter((r) => r.endpoint === "payments.get" && r.path.endsWith(providerId)),
      ).toHaveLength(1);
    }
    expect(
      await countRows(dbUrl(), "ledger_transfers", `kind = 'TOP_UP' and user_ref like 'telegram:301%'`),
    ).toBe(5);
    expect(await env.billing.client("admin").wallet.verifyLedger({})).toMatchObject({
      ok: true,
      violations: [],
    });
  });
});
