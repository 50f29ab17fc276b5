// The fake's API on its own: auth, objects, the status machine and refunds.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { startFakeYooKassa } from "../../src/index.js";
import type { FakePaymentObject, FakeYooKassa } from "../../src/index.js";
import { SHOP_ID, SECRET_KEY, api, basicAuth, createPayment, newKey, paymentBody } from "./helpers.js";

let fake: FakeYooKassa;

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

describe("authentication", () => {
  it("refuses a missing or wrong Basic pair with 401 invalid_credentials and creates nothing", async () => {
    const missing = await api(fake, "POST", "payments", { body: paymentBody(), key: newKey(), auth: null });
    const wrongSecret = await api(fake, "POST", "payments", {
      body: paymentBody(),
      key: newKey(),
      auth: basicAuth(SHOP_ID, "test_wrong"),
    });
    const wrongShop = await api(fake, "GET", "payments/whatever", { auth: basicAuth("999", SECRET_KEY) });
    for (const answer of [missing, wrongSecret, wrongShop]) {
      expect(answer.status).toBe(401);
      expect(answer.json).toMatchObject({ type: "error", code: "invalid_credentials" });
      expect(answer.json["id"]).toEqual(expect.any(String));
    }
    expect(fake.listPayments()).toHaveLength(0);
  });
});

describe("payments", () => {
  it("creates a realistic pending payment with a confirmation URL on the fake itself", async () => {
    const created = await createPayment(fake, { amount: { value: "100", currency: "RUB" } });
    expect(created).toMatchObject({
      status: "pending",
      paid: false,
      amount: { value: "100.00", currency: "RUB" },
      description: "Top-up 100 credits",
      metadata: { user_ref: "telegram:42", top_up_id: "t-1" },
      test: true,
      refundable: false,
      recipient: { account_id: SHOP_ID },
      confirmation: { type: "redirect", return_url: "https://t.me/example_bot" },
    });
    const id = created["id"] as string;
    expect(id).toHaveLength(36);
    expect(Number.isNaN(Date.parse(created["created_at"] as string))).toBe(false);
    const confirmationUrl = (created["confirmation"] as { confirmation_url: string }).confirmation_url;
    expect(confirmationUrl).toBe(`${fake.origin}/checkout/${id}`);
    const page = await fetch(confirmationUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("100.00 RUB");

    const read = await api(fake, "GET", `payments/${id}`);
    expect(read.status).toBe(200);
    expect(read.json).toEqual(created);
  });

  it("capture:true goes pending → succeeded on pay, with income_amount and payment_method, and stays final", async () => {
    const { id } = (await createPayment(fake)) as { id: string };
    const paid = fake.pay(id);
    expect(paid).toMatchObject({
      status: "succeeded",
      paid: true,
      refundable: true,
      income_amount: { value: "96.50", currency: "RUB" },
      payment_method: { type: "bank_card", id },
    });
    expect(paid.captured_at).toEqual(expect.any(String));
    expect(paid.confirmation).toBeUndefined();
    const read = await api(fake, "GET", `payments/${id}`);
    expect(read.json).toMatchObject({ status: "succeeded", paid: true });

    expect(() => fake.pay(id)).toThrow(/only pending/);
    expect(() => fake.decline(id)).toThrow(/only pending/);
    expect(() => fake.expire(id)).toThrow(/final/);
    const cancel = await api(fake, "POST", `payments/${id}/cancel`, { body: {}, key: newKey() });
    expect(cancel.status).toBe(400);
    expect(cancel.json["code"]).toBe("invalid_request");
    expect(fake.getPayment(id)?.status).toBe("succeeded");
  });

  it("capture:false goes pending → waiting_for_capture → succeeded, with a partial capture", async () => {
    const { id } = (await createPayment(fake, { capture: false })) as { id: string };
    const early = await api(fake, "POST", `payments/${id}/capture`, { body: {}, key: newKey() });
    expect(early.status).toBe(400);

    const waiting = fake.pay(id);
    expect(waiting).toMatchObject({ status: "waiting_for_capture", paid: true, refundable: false });
    expect(waiting.expires_at).toEqual(expect.any(String));
    expect(waiting.income_amount).toBeUndefined();

    const tooMuch = await api(fake, "POST", `payments/${id}/capture`, {
      body: { amount: { value: "100.01", currency: "RUB" } },
      key: newKey(),
    });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.json["parameter"]).toBe("amount.value");

    const captured = await api(fake, "POST", `payments/${id}/capture`, {
      body: { amount: { value: "60.00", currency: "RUB" } },
      key: newKey(),
    });
    expect(captured.status).toBe(200);
    expect(captured.json).toMatchObject({
      status: "succeeded",
      amount: { value: "60.00" },
      income_amount: { value: "57.90" },
    });
    expect(captured.json["expires_at"]).toBeUndefined();
  });

  it("cancel works only in waiting_for_capture and records the merchant as the party", async () => {
    const { id: pendingId } = (await createPayment(fake, { capture: false })) as { id: string };
    const refused = await api(fake, "POST", `payments/${pendingId}/cancel`, { body: {}, key: newKey() });
    expect(refused.status).toBe(400);
    expect(fake.getPayment(pendingId)?.status).toBe("pending");

    fake.pay(pendingId);
    const canceled = await api(fake, "POST", `payments/${pendingId}/cancel`, { body: {}, key: newKey() });
    expect(canceled.status).toBe(200);
    expect(canceled.json).toMatchObject({
      status: "canceled",
      cancellation_details: { party: "merchant", reason: "canceled_by_merchant" },
    });
  });

  it("decline and expire cancel with the documented reasons", async () => {
    const { id: declined } = (await createPayment(fake)) as { id: string };
    expect(fake.decline(declined, "card_expired")).toMatchObject({
      status: "canceled",
      paid: false,
      cancellation_details: { party: "payment_network", reason: "card_expired" },
    });

    const { id: unconfirmed } = (await createPayment(fake)) as { id: string };
    expect(fake.expire(unconfirmed).cancellation_details).toEqual({
      party: "yoo_money",
      reason: "expired_on_confirmation",
    });

    const { id: uncaptured } = (await createPayment(fake, { capture: false })) as { id: string };
    fake.pay(uncaptured);
    expect(fake.expire(uncaptured).cancellation_details).toEqual({
      party: "yoo_money",
      reason: "expired_on_capture",
    });
  });

  it("answers 404 not_found for unknown objects and endpoints", async () => {
    const payment = await api(fake, "GET", "payments/2419a771-000f-5000-9000-1edaf29243f2");
    expect(payment.status).toBe(404);
    expect(payment.json).toMatchObject({ type: "error", code: "not_found" });
    const capture = await api(fake, "POST", "payments/nope/capture", { body: {}, key: newKey() });
    expect(capture.status).toBe(404);
    expect((await api(fake, "GET", "refunds/nope")).status).toBe(404);
    expect((await api(fake, "GET", "receipts")).status).toBe(404);
  });
});

describe("refunds", () => {
  async function succeededPayment(value = "100.00"): Promise<FakePaymentObject> {
    const { id } = (await createPayment(fake, { amount: { value, currency: "RUB" } })) as { id: string };
    return fake.pay(id);
  }

  it("refunds only succeeded payments and never more than was paid", async () => {
    const { id: pendingId } = (await createPayment(fake)) as { id: string };
    const early = await api(fake, "POST", "refunds", {
      body: { payment_id: pendingId, amount: { value: "10.00", currency: "RUB" } },
      key: newKey(),
    });
    expect(early.status).toBe(400);
    expect(early.json["parameter"]).toBe("payment_id");

    const payment = await succeededPayment();
    const first = await api(fake, "POST", "refunds", {
      body: { payment_id: payment.id, amount: { value: "30.00", currency: "RUB" }, description: "support" },
      key: newKey(),
    });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({
      payment_id: payment.id,
      status: "succeeded",
      amount: { value: "30.00", currency: "RUB" },
    });
    expect(first.json["id"]).toHaveLength(36);

    const tooMuch = await api(fake, "POST", "refunds", {
      body: { payment_id: payment.id, amount: { value: "70.01", currency: "RUB" } },
      key: newKey(),
    });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.json["parameter"]).toBe("amount.value");

    const rest = await api(fake, "POST", "refunds", {
      body: { payment_id: payment.id, amount: { value: "70.00", currency: "RUB" } },
      key: newKey(),
    });
    expect(rest.status).toBe(200);
    expect(fake.getPayment(payment.id)).toMatchObject({
      refunded_amount: { value: "100.00" },
      refundable: false,
    });
    const read = await api(fake, "GET", `refunds/${first.json["id"] as string}`);
    expect(read.json).toEqual(first.json);
  });

  it("with refundsStartPending, pending refunds reserve the amount until completed or canceled", async () => {
    const pendingFake = await startFakeYooKassa({
      shopId: SHOP_ID,
      secretKey: SECRET_KEY,
      refundsStartPending: true,
    });
    try {
      const { id } = (await createPayment(pendingFake)) as { id: string };
      pendingFake.pay(id);
      const refund = await api(pendingFake, "POST", "refunds", {
        body: { payment_id: id, amount: { value: "80.00", currency: "RUB" } },
        key: newKey(),
      });
      expect(refund.json["status"]).toBe("pending");
      const refundId = refund.json["id"] as string;
      const over = await api(pendingFake, "POST", "refunds", {
        body: { payment_id: id, amount: { value: "20.01", currency: "RUB" } },
        key: newKey(),
      });
      expect(over.status).toBe(400);

      expect(pendingFake.cancelRefund(refundId)).toMatchObject({
        status: "canceled",
        cancellation_details: { reason: "rejected_by_payee" },
      });
      expect(() => pendingFake.completeRefund(refundId)).toThrow(/only pending/);
      expect(pendingFake.getPayment(id)?.refunded_amount).toBeUndefined();

      const second = await api(pendingFake, "POST", "refunds", {
        body: { payment_id: id, amount: { value: "100.00", currency: "RUB" } },
        key: newKey(),
      });
      expect(second.status).toBe(200);
      expect(pendingFake.completeRefund(second.json["id"] as string).status).toBe("succeeded");
      expect(pendingFake.getPayment(id)).toMatchObject({
        refunded_amount: { value: "100.00" },
        refundable: false,
      });
    } finally {
      await pendingFake.close();
    }
  });
});
