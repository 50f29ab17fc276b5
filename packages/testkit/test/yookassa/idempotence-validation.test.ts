// The fake's idempotence store and request validation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { startFakeYooKassa } from "../../src/index.js";
import type { FakeYooKassa } from "../../src/index.js";
import { SHOP_ID, SECRET_KEY, api, newKey, paymentBody } from "./helpers.js";

let fake: FakeYooKassa;
let receiptFake: FakeYooKassa;

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY });
  receiptFake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, receiptsRequired: true });
});
afterAll(async () => {
  await fake.close();
  await receiptFake.close();
});
beforeEach(() => {
  fake.reset();
  receiptFake.reset();
});

describe("idempotence store", () => {
  it("replays the original answer for the same key and body, creating one payment", async () => {
    const key = newKey();
    const first = await api(fake, "POST", "payments", { body: paymentBody(), key });
    // Same JSON, other key order and spacing: still the same request.
    const { metadata, ...rest } = paymentBody();
    const second = await api(fake, "POST", "payments", {
      rawBody: JSON.stringify({ metadata, ...rest }, null, 2),
      key,
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.json).toEqual(first.json);
    expect(fake.listPayments()).toHaveLength(1);
    expect(fake.requests.map((request) => request.replayed)).toEqual([false, true]);
  });

  it("refuses the same key with another body (400, parameter Idempotence-Key) and does nothing", async () => {
    const key = newKey();
    await api(fake, "POST", "payments", { body: paymentBody(), key });
    const other = await api(fake, "POST", "payments", {
      body: paymentBody({ amount: { value: "300.00", currency: "RUB" } }),
      key,
    });
    expect(other.status).toBe(400);
    expect(other.json).toMatchObject({
      type: "error",
      code: "invalid_request",
      parameter: "Idempotence-Key",
    });
    expect(fake.listPayments()).toHaveLength(1);
    expect(fake.listPayments()[0]?.amount.value).toBe("100.00");
  });

  it("refuses the same key on another endpoint", async () => {
    const key = newKey();
    const created = await api(fake, "POST", "payments", { body: paymentBody({ capture: false }), key });
    const id = created.json["id"] as string;
    fake.pay(id);
    const capture = await api(fake, "POST", `payments/${id}/capture`, { body: {}, key });
    expect(capture.status).toBe(400);
    expect(capture.json["parameter"]).toBe("Idempotence-Key");
    expect(fake.getPayment(id)?.status).toBe("waiting_for_capture");
  });

  it("requires a well-formed Idempotence-Key on every POST", async () => {
    const missing = await api(fake, "POST", "payments", { body: paymentBody() });
    const tooLong = await api(fake, "POST", "payments", { body: paymentBody(), key: "k".repeat(65) });
    const badChars = await api(fake, "POST", "payments", { body: paymentBody(), key: "key with spaces" });
    for (const answer of [missing, tooLong, badChars]) {
      expect(answer.status).toBe(400);
      expect(answer.json["parameter"]).toBe("Idempotence-Key");
    }
    expect(fake.listPayments()).toHaveLength(0);
    const longest = await api(fake, "POST", "payments", { body: paymentBody(), key: "aZ09+-_.".repeat(8) });
    expect(longest.status).toBe(200);
  });

  it("stores a 400 answer like any other result (a replay gets the same 400)", async () => {
    const key = newKey();
    const bad = paymentBody({ description: "x".repeat(129) });
    const first = await api(fake, "POST", "payments", { body: bad, key });
    const second = await api(fake, "POST", "payments", { body: bad, key });
    expect(first.status).toBe(400);
    expect(second.json).toEqual(first.json);
  });

  it("does not store 5xx answers: a repeat after a 500 without effect performs the operation", async () => {
    fake.injectFault("payments.create", { type: "server_error" });
    const key = newKey();
    const failed = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ type: "error", code: "internal_server_error" });
    expect(fake.listPayments()).toHaveLength(0);
    const repeated = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(repeated.status).toBe(200);
    expect(fake.listPayments()).toHaveLength(1);
  });

  it("after a 500 with effect, the repeat returns the payment that was created", async () => {
    fake.injectFault("payments.create", { type: "server_error", performed: true });
    const key = newKey();
    const failed = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(failed.status).toBe(500);
    expect(fake.listPayments()).toHaveLength(1);
    const repeated = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(repeated.status).toBe(200);
    expect(repeated.json["id"]).toBe(fake.listPayments()[0]?.id);
    expect(fake.listPayments()).toHaveLength(1);
  });
});

describe("validation", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["exponent amount", { amount: { value: "1e3", currency: "RUB" } }, "amount.value"],
    ["negative amount", { amount: { value: "-1.00", currency: "RUB" } }, "amount.value"],
    ["three decimals", { amount: { value: "10.555", currency: "RUB" } }, "amount.value"],
    ["zero amount", { amount: { value: "0.00", currency: "RUB" } }, "amount.value"],
    ["text amount", { amount: { value: "ten", currency: "RUB" } }, "amount.value"],
    ["no amount", { amount: undefined }, "amount"],
    ["other currency", { amount: { value: "10.00", currency: "USD" } }, "amount.currency"],
    ["no confirmation", { confirmation: undefined }, "confirmation"],
    ["embedded confirmation", { confirmation: { type: "embedded" } }, "confirmation.type"],
    [
      "bad return_url",
      { confirmation: { type: "redirect", return_url: "javascript:alert(1)" } },
      "confirmation.return_url",
    ],
    ["long description", { description: "я".repeat(129) }, "description"],
    ["capture not boolean", { capture: "yes" }, "capture"],
    [
      "17 metadata keys",
      { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${String(i)}`, "v"])) },
      "metadata",
    ],
    ["long metadata key", { metadata: { ["k".repeat(33)]: "v" } }, "metadata"],
    ["long metadata value", { metadata: { k: "v".repeat(513) } }, "metadata"],
    ["non-string metadata", { metadata: { k: 5 } }, "metadata"],
  ];

  it.each(cases)("refuses %s with parameter %s", async (_name, overrides, parameter) => {
    const answer = await api(fake, "POST", "payments", { body: paymentBody(overrides), key: newKey() });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ type: "error", code: "invalid_request", parameter });
    expect(fake.listPayments()).toHaveLength(0);
  });

  it("accepts the limits exactly (128-char description, 16 keys, 32-char names, 512-char values)", async () => {
    const metadata = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [
        `${"k".repeat(30)}${String(i).padStart(2, "0")}`,
        "v".repeat(512),
      ]),
    );
    const answer = await api(fake, "POST", "payments", {
      body: paymentBody({ description: "я".repeat(128), metadata }),
      key: newKey(),
    });
    expect(answer.status).toBe(200);
  });

  it("refuses a non-JSON body and a body over 1 MiB", async () => {
    const notJson = await api(fake, "POST", "payments", { rawBody: "{not json", key: newKey() });
    expect(notJson.status).toBe(400);
    const huge = await api(fake, "POST", "payments", {
      body: paymentBody({ description: "x".repeat(1024 * 1024) }),
      key: newKey(),
    });
    expect(huge.status).toBe(413);
    expect(fake.listPayments()).toHaveLength(0);
  });

  describe("receipts (shop with 54-FZ receipts on)", () => {
    const receipt = (
      overrides: Record<string, unknown> = {},
      item: Record<string, unknown> = {},
    ): Record<string, unknown> => ({
      customer: { email: "user@example.com" },
      items: [
        {
          description: "Top-up 100 credits",
          quantity: "2",
          amount: { value: "50.00", currency: "RUB" },
          vat_code: 1,
          payment_subject: "service",
          payment_mode: "full_prepayment",
          ...item,
        },
      ],
      ...overrides,
    });

    it("requires the receipt", async () => {
      const answer = await api(receiptFake, "POST", "payments", { body: paymentBody(), key: newKey() });
      expect(answer.status).toBe(400);
      expect(answer.json["parameter"]).toBe("receipt");
    });

    it("accepts a receipt whose items add up to the amount and marks receipt_registration", async () => {
      const answer = await api(receiptFake, "POST", "payments", {
        body: paymentBody({ receipt: receipt() }),
        key: newKey(),
      });
      expect(answer.status).toBe(200);
      expect(answer.json["receipt_registration"]).toBe("pending");
      const fractional = await api(receiptFake, "POST", "payments", {
        body: paymentBody({
          receipt: receipt({}, { quantity: 0.5, amount: { value: "200.00", currency: "RUB" } }),
        }),
        key: newKey(),
      });
      expect(fractional.status).toBe(200);
    });

    const bad: Array<[string, Record<string, unknown>, string]> = [
      ["items not adding up", receipt({}, { quantity: "1" }), "receipt"],
      ["no customer contact", receipt({ customer: {} }), "receipt.customer"],
      ["bad email", receipt({ customer: { email: "not-an-email" } }), "receipt.customer"],
      ["no items", receipt({ items: [] }), "receipt.items"],
      ["vat_code 13", receipt({}, { vat_code: 13 }), "receipt.items[0].vat_code"],
      ["vat_code 0", receipt({}, { vat_code: 0 }), "receipt.items[0].vat_code"],
      [
        "long item description",
        receipt({}, { description: "d".repeat(129) }),
        "receipt.items[0].description",
      ],
      ["zero quantity", receipt({}, { quantity: "0" }), "receipt.items[0].quantity"],
      [
        "bad item amount",
        receipt({}, { amount: { value: "50.001", currency: "RUB" } }),
        "receipt.items[0].amount.value",
      ],
    ];
    it.each(bad)("refuses %s (parameter %s)", async (_name, body, parameter) => {
      const answer = await api(receiptFake, "POST", "payments", {
        body: paymentBody({ receipt: body }),
        key: newKey(),
      });
      expect(answer.status).toBe(400);
      expect(answer.json["parameter"]).toBe(parameter);
      expect(receiptFake.listPayments()).toHaveLength(0);
    });
  });
});
