// GET /refunds?payment_id=…: how billing finds a refund whose create answer never arrived. Against
// the faithful fake over real HTTP: newest first, paged by next_cursor, filtered by payment, and a
// bad limit refused before any request.
import { startFakeYooKassa, type FakeYooKassa } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createYooKassaClient, type YooKassaClient } from "../src/index.js";

const SHOP_ID = "654322";
const SECRET_KEY = "test_refund_list_secret_for_tests_only";

let fake: FakeYooKassa;
let yookassa: YooKassaClient;

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, defaultRetryAfterMs: 10 });
  yookassa = createYooKassaClient({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    apiUrl: fake.url,
    timeoutMs: 2_000,
    unsafeAllowShortTimeout: true,
    retryDelayMs: 10,
  });
});
afterAll(async () => fake.close());

async function paidPayment(amountMinor: bigint): Promise<string> {
  const payment = await yookassa.createPayment(
    {
      amount: { amountMinor, currency: "RUB" },
      capture: true,
      confirmation: { type: "redirect", returnUrl: "https://t.me/example_bot" },
      metadata: {},
    },
    `list-pay-${String(amountMinor)}-${String(Date.now())}`,
  );
  fake.pay(payment.id);
  return payment.id;
}

describe("listRefunds", () => {
  it("lists one payment's refunds newest first, page by page, with their metadata", async () => {
    const paymentId = await paidPayment(10_000n);
    const otherId = await paidPayment(5_000n);
    const made: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const refund = await yookassa.createRefund(
        { paymentId, amount: { amountMinor: 1_000n, currency: "RUB" }, metadata: { n: String(i) } },
        `list-refund-${paymentId}-${String(i)}`,
      );
      made.push(refund.id);
    }
    await yookassa.createRefund(
      { paymentId: otherId, amount: { amountMinor: 1_000n, currency: "RUB" } },
      `list-refund-${otherId}`,
    );

    const first = await yookassa.listRefunds({ paymentId, limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual([made[4], made[3]]);
    expect(first.items[0]).toMatchObject({ paymentId, status: "succeeded", metadata: { n: "4" } });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await yookassa.listRefunds({ paymentId, limit: 2, cursor: first.nextCursor ?? "" });
    const third = await yookassa.listRefunds({ paymentId, limit: 2, cursor: second.nextCursor ?? "" });
    expect([...second.items, ...third.items].map((r) => r.id)).toEqual([made[2], made[1], made[0]]);
    expect(third.nextCursor).toBeUndefined();

    expect((await yookassa.listRefunds({ paymentId: otherId })).items).toHaveLength(1);
    expect((await yookassa.listRefunds({ paymentId: "no-such-payment" })).items).toEqual([]);
  });

  it("refuses a limit outside 1-100 without calling, and a forged cursor at the fake", async () => {
    const before = fake.requests.length;
    await expect(yookassa.listRefunds({ paymentId: "p1", limit: 101 })).rejects.toMatchObject({
      kind: "invalid_request",
      parameter: "limit",
    });
    expect(fake.requests.length).toBe(before);
    await expect(yookassa.listRefunds({ paymentId: "p1", cursor: "forged" })).rejects.toMatchObject({
      kind: "invalid_request",
      parameter: "cursor",
      httpStatus: 400,
    });
  });
});
