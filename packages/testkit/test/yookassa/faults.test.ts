// Failure injection: each queued fault is consumed by the next matching request.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { startFakeYooKassa } from "../../src/index.js";
import type { FakeYooKassa } from "../../src/index.js";
import { SHOP_ID, SECRET_KEY, api, createPayment, newKey, paymentBody } from "./helpers.js";

let fake: FakeYooKassa;

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, defaultRetryAfterMs: 50 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

describe("faults", () => {
  it("429 carries retry_after in milliseconds and performs nothing", async () => {
    fake.injectFault("payments.create", { type: "rate_limit", retryAfterMs: 1234 });
    const answer = await api(fake, "POST", "payments", { body: paymentBody(), key: newKey() });
    expect(answer.status).toBe(429);
    expect(answer.json).toMatchObject({ type: "error", code: "too_many_requests", retry_after: 1234 });
    expect(fake.listPayments()).toHaveLength(0);
    expect(fake.pendingFaults).toHaveLength(0);
  });

  it("202 says processing with retry_after; with performed the repeat returns the stored result", async () => {
    fake.injectFault("payments.create", { type: "processing" });
    const key = newKey();
    const first = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ type: "processing", retry_after: 50 });
    expect(fake.listPayments()).toHaveLength(0);

    fake.injectFault("payments.create", { type: "processing", performed: true });
    const second = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(second.status).toBe(202);
    expect(fake.listPayments()).toHaveLength(1);
    const third = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(third.status).toBe(200);
    expect(third.json["id"]).toBe(fake.listPayments()[0]?.id);
  });

  it("a dropped connection fails the request; with performed the payment exists anyway", async () => {
    fake.injectFault("payments.create", { type: "drop_connection", performed: true });
    const key = newKey();
    await expect(api(fake, "POST", "payments", { body: paymentBody(), key })).rejects.toThrow();
    expect(fake.listPayments()).toHaveLength(1);
    expect(fake.requests.at(-1)).toMatchObject({
      status: "dropped",
      fault: "drop_connection",
      idempotenceKey: key,
    });
  });

  it("malformed JSON is a 200 whose body does not parse (the work was done)", async () => {
    fake.injectFault("payments.create", { type: "malformed_json" });
    const answer = await api(fake, "POST", "payments", { body: paymentBody(), key: newKey() });
    expect(answer.status).toBe(200);
    expect(() => JSON.parse(answer.text) as unknown).toThrow();
    expect(fake.listPayments()).toHaveLength(1);
  });

  it("delay answers late; GET faults apply to GET only; '*' matches any endpoint", async () => {
    const { id } = (await createPayment(fake)) as { id: string };
    fake.injectFault("payments.get", { type: "delay", delayMs: 150 });
    const started = Date.now();
    const slow = await api(fake, "GET", `payments/${id}`);
    expect(slow.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    fake.injectFault("refunds.get", { type: "server_error" });
    expect((await api(fake, "GET", `payments/${id}`)).status).toBe(200);
    expect(fake.pendingFaults).toEqual([{ endpoint: "refunds.get", fault: { type: "server_error" } }]);
    fake.clearFaults();

    fake.injectFault(
      "*",
      { type: "error", status: 403, code: "forbidden", description: "Refunds are disabled" },
      2,
    );
    const a = await api(fake, "GET", `payments/${id}`);
    const b = await api(fake, "POST", "refunds", { body: {}, key: newKey() });
    const c = await api(fake, "GET", `payments/${id}`);
    expect([a.status, b.status, c.status]).toEqual([403, 403, 200]);
    expect(a.json).toMatchObject({ code: "forbidden", description: "Refunds are disabled" });
  });

  it("a delayed create performed first is what a concurrent repeat with the same key gets", async () => {
    fake.injectFault("payments.create", { type: "delay", delayMs: 300 });
    const key = newKey();
    const slow = api(fake, "POST", "payments", { body: paymentBody(), key });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const repeat = await api(fake, "POST", "payments", { body: paymentBody(), key });
    expect(repeat.status).toBe(200);
    expect((await slow).json).toEqual(repeat.json);
    expect(fake.listPayments()).toHaveLength(1);
  });

  it("refuses unknown endpoints and unbounded fault queues", () => {
    expect(() => fake.injectFault("payments.delete" as "payments.get", { type: "server_error" })).toThrow(
      /unknown endpoint/,
    );
    expect(() => fake.injectFault("*", { type: "server_error" }, 1001)).toThrow(/times/);
  });
});
