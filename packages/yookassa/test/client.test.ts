// The client against the faithful fake over real HTTP: happy paths, retries with the same
// Idempotence-Key, typed errors, and no credentials in any error.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { inspect } from "node:util";

import { startFakeYooKassa } from "@billing/testkit";
import type { FakeYooKassa } from "@billing/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import { YooKassaError, createYooKassaClient } from "../src/index.js";
import type {
  CreatePaymentRequest,
  RetryEvent,
  YooKassaClient,
  YooKassaClientOptions,
} from "../src/index.js";

const SHOP_ID = "654321";
const SECRET_KEY = "test_Sup3rSecretKey_for_client_tests_only";
const TOKEN = Buffer.from(`${SHOP_ID}:${SECRET_KEY}`).toString("base64");

let fake: FakeYooKassa;
let sleeps: number[];
let retries: RetryEvent[];

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, defaultRetryAfterMs: 10 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  sleeps = [];
  retries = [];
});

function client(overrides: Partial<YooKassaClientOptions> = {}): YooKassaClient {
  return createYooKassaClient({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    apiUrl: fake.url,
    timeoutMs: 2_000,
    unsafeAllowShortTimeout: true,
    retryDelayMs: 10,
    maxRetryDelayMs: 5_000,
    // Records what the client asked to wait, waits only briefly: fast tests, exact assertions.
    sleep: async (ms) => {
      sleeps.push(ms);
      await delay(Math.min(ms, 5));
    },
    onRetry: (event) => retries.push(event),
    ...overrides,
  });
}

const topUp = (overrides: Partial<CreatePaymentRequest> = {}): CreatePaymentRequest => ({
  amount: { amountMinor: 10_000n, currency: "RUB" },
  capture: true,
  confirmation: { type: "redirect", returnUrl: "https://t.me/example_bot" },
  description: "Top-up 100 credits",
  metadata: { user_ref: "telegram:42", top_up_id: "t-1" },
  ...overrides,
});

let keyCounter = 0;
function newKey(): string {
  keyCounter += 1;
  return `k-${String(Date.now())}-${String(keyCounter)}`;
}

async function caught(promise: Promise<unknown>): Promise<YooKassaError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(YooKassaError);
    return error as YooKassaError;
  }
  throw new Error("expected a YooKassaError");
}

describe("happy paths", () => {
  it("creates a payment, reads it back after the payer pays, with money as bigint kopecks", async () => {
    const yookassa = client();
    const created = await yookassa.createPayment(topUp(), newKey());
    expect(created).toMatchObject({
      status: "pending",
      paid: false,
      amount: { amountMinor: 10_000n, currency: "RUB" },
      test: true,
      refundable: false,
      metadata: { user_ref: "telegram:42", top_up_id: "t-1" },
      description: "Top-up 100 credits",
    });
    expect(created.id).toHaveLength(36);
    expect(created.confirmation?.confirmationUrl).toBe(`${fake.origin}/checkout/${created.id}`);

    fake.pay(created.id);
    const paid = await yookassa.getPayment(created.id);
    expect(paid).toMatchObject({
      id: created.id,
      status: "succeeded",
      paid: true,
      refundable: true,
      incomeAmount: { amountMinor: 9_650n, currency: "RUB" },
      paymentMethod: { type: "bank_card" },
    });
    expect(paid.capturedAt).toEqual(expect.any(String));
    expect(fake.requests.map((r) => [r.method, r.idempotenceKey === undefined])).toEqual([
      ["POST", false],
      ["GET", true],
    ]);
  });

  it("two-stage: capture for less, and cancel", async () => {
    const yookassa = client();
    const held = await yookassa.createPayment(topUp({ capture: false }), newKey());
    fake.pay(held.id);
    expect((await yookassa.getPayment(held.id)).status).toBe("waiting_for_capture");
    const captured = await yookassa.capturePayment(held.id, newKey(), {
      amountMinor: 6_000n,
      currency: "RUB",
    });
    expect(captured).toMatchObject({ status: "succeeded", amount: { amountMinor: 6_000n } });

    const other = await yookassa.createPayment(topUp({ capture: false }), newKey());
    fake.pay(other.id);
    const canceled = await yookassa.cancelPayment(other.id, newKey());
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellationDetails: { party: "merchant", reason: "canceled_by_merchant" },
    });
    expect(fake.getPayment(other.id)?.status).toBe("canceled");
  });

  it("refunds and reads the refund; refusing more than was paid with the parameter", async () => {
    const yookassa = client();
    const payment = await yookassa.createPayment(topUp(), newKey());
    fake.pay(payment.id);
    const refund = await yookassa.createRefund(
      { paymentId: payment.id, amount: { amountMinor: 2_550n, currency: "RUB" }, description: "support" },
      newKey(),
    );
    expect(refund).toMatchObject({
      paymentId: payment.id,
      status: "succeeded",
      amount: { amountMinor: 2_550n },
    });
    expect(await yookassa.getRefund(refund.id)).toEqual(refund);
    expect((await yookassa.getPayment(payment.id)).refundedAmount).toEqual({
      amountMinor: 2_550n,
      currency: "RUB",
    });

    const tooMuch = await caught(
      yookassa.createRefund(
        { paymentId: payment.id, amount: { amountMinor: 7_451n, currency: "RUB" } },
        newKey(),
      ),
    );
    expect(tooMuch).toMatchObject({
      kind: "invalid_request",
      parameter: "amount.value",
      httpStatus: 400,
      outcomeUnknown: false,
      attempts: 1,
    });
    expect(tooMuch.retryable).toBe(false);
    expect(tooMuch.id).toEqual(expect.any(String));
  });

  it("sends a 54-FZ receipt the fake accepts, and surfaces the fake's refusal of a wrong sum", async () => {
    const receiptFake = await startFakeYooKassa({
      shopId: SHOP_ID,
      secretKey: SECRET_KEY,
      receiptsRequired: true,
    });
    try {
      const yookassa = client({ apiUrl: receiptFake.url });
      const receipt = {
        customer: { email: "user@example.com" },
        items: [
          {
            description: "Top-up 100 credits",
            quantity: "2",
            amount: { amountMinor: 5_000n, currency: "RUB" },
            vatCode: 1 as const,
            paymentSubject: "service",
            paymentMode: "full_prepayment",
          },
        ],
      };
      const ok = await yookassa.createPayment(topUp({ receipt }), newKey());
      expect(ok.status).toBe("pending");
      const missing = await caught(yookassa.createPayment(topUp(), newKey()));
      expect(missing).toMatchObject({ kind: "invalid_request", parameter: "receipt" });
      const wrongSum = await caught(
        yookassa.createPayment(
          topUp({ receipt: { ...receipt, items: [{ ...receipt.items[0]!, quantity: "1" }] } }),
          newKey(),
        ),
      );
      expect(wrongSum).toMatchObject({ kind: "invalid_request", parameter: "receipt" });
      expect(receiptFake.listPayments()).toHaveLength(1);
    } finally {
      await receiptFake.close();
    }
  });
});

describe("retries reuse the caller's Idempotence-Key", () => {
  it("500 after creating, then the repeat: exactly one payment, same key, same body", async () => {
    fake.injectFault("payments.create", { type: "server_error", performed: true });
    const key = newKey();
    const payment = await client().createPayment(topUp(), key);
    expect(fake.listPayments()).toHaveLength(1);
    expect(fake.listPayments()[0]?.id).toBe(payment.id);
    expect(fake.requests.map((r) => [r.idempotenceKey, r.status, r.replayed])).toEqual([
      [key, 500, false],
      [key, 200, true],
    ]);
    expect(retries).toEqual([
      expect.objectContaining({ operation: "createPayment", attempt: 1, reason: "internal_server_error" }),
    ]);
  });

  it("500 without effect, then the repeat creates the one payment", async () => {
    fake.injectFault("payments.create", { type: "server_error" });
    const key = newKey();
    await client().createPayment(topUp(), key);
    expect(fake.listPayments()).toHaveLength(1);
    expect(fake.requests.map((r) => [r.idempotenceKey, r.status, r.replayed])).toEqual([
      [key, 500, false],
      [key, 200, false],
    ]);
  });

  it("202 (still processing), then success, waiting retry_after", async () => {
    fake.injectFault("payments.create", { type: "processing", retryAfterMs: 1_500 });
    const key = newKey();
    const payment = await client().createPayment(topUp(), key);
    expect(payment.status).toBe("pending");
    expect(sleeps).toEqual([1_500]);
    expect(fake.requests.map((r) => [r.idempotenceKey, r.status])).toEqual([
      [key, 202],
      [key, 200],
    ]);
    expect(fake.listPayments()).toHaveLength(1);
  });

  it("429 honours retry_after, capped by maxRetryDelayMs", async () => {
    fake.injectFault("payments.get", { type: "rate_limit", retryAfterMs: 1_234 });
    fake.injectFault("payments.get", { type: "rate_limit", retryAfterMs: 86_400_000 });
    const payment = await client().createPayment(topUp(), newKey());
    const read = await client().getPayment(payment.id);
    expect(read.id).toBe(payment.id);
    expect(sleeps).toEqual([1_234, 5_000]);
    expect(retries.map((r) => r.reason)).toEqual(["too_many_requests", "too_many_requests"]);
  });

  it("a timeout (answer slower than the client timeout), then the repeat: one payment", async () => {
    fake.injectFault("payments.create", { type: "delay", delayMs: 1_500 });
    const key = newKey();
    const started = Date.now();
    const payment = await client({ timeoutMs: 300 }).createPayment(topUp(), key);
    expect(Date.now() - started).toBeLessThan(1_500); // it did not wait for the slow answer
    expect(fake.listPayments().map((p) => p.id)).toEqual([payment.id]);
    // On a noisy machine the repeat itself may time out once more; every retry is a timeout.
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries.every((r) => r.reason === "timeout")).toBe(true);
    // The fake logs a request when it answers: the slow one shows up once its delay is over.
    await vi.waitFor(
      () => expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(retries.length + 1),
      { timeout: 3_000 },
    );
    const posts = fake.requests.filter((r) => r.method === "POST");
    expect(posts.every((r) => r.idempotenceKey === key)).toBe(true);
    expect(posts.filter((r) => !r.replayed)).toHaveLength(1); // performed once, replayed after
    expect(fake.listPayments()).toHaveLength(1);
  });

  it("a dropped connection, then the repeat (with and without the work done): one payment each", async () => {
    fake.injectFault("payments.create", { type: "drop_connection" });
    const first = await client().createPayment(topUp(), newKey());
    fake.injectFault("payments.create", { type: "drop_connection", performed: true });
    const second = await client().createPayment(topUp(), newKey());
    expect(
      fake
        .listPayments()
        .map((p) => p.id)
        .sort(),
    ).toEqual([first.id, second.id].sort());
    expect(retries.map((r) => r.reason)).toEqual(["network", "network"]);
    expect(fake.requests.map((r) => r.status)).toEqual(["dropped", 200, "dropped", 200]);
  });

  it("backs off exponentially (with jitter) when there is no retry_after", async () => {
    fake.injectFault("payments.create", { type: "drop_connection" }, 3);
    await client({ retryDelayMs: 100 }).createPayment(topUp(), newKey());
    expect(sleeps).toHaveLength(3);
    const [a = 0, b = 0, c = 0] = sleeps;
    expect(a).toBeGreaterThanOrEqual(50);
    expect(a).toBeLessThanOrEqual(100);
    expect(b).toBeGreaterThanOrEqual(100);
    expect(b).toBeLessThanOrEqual(200);
    expect(c).toBeGreaterThanOrEqual(200);
    expect(c).toBeLessThanOrEqual(400);
  });

  it("gives up after maxAttempts with the outcome marked unknown", async () => {
    fake.injectFault("payments.create", { type: "server_error" }, 10);
    const key = newKey();
    const error = await caught(client({ maxAttempts: 3 }).createPayment(topUp(), key));
    expect(error).toMatchObject({
      kind: "internal_server_error",
      httpStatus: 500,
      attempts: 3,
      outcomeUnknown: true,
    });
    expect(error.retryable).toBe(true);
    expect(fake.requests.map((r) => r.idempotenceKey)).toEqual([key, key, key]);
    expect(fake.listPayments()).toHaveLength(0);
  });
});

describe("typed errors without retries", () => {
  it("malformed JSON in a 200 is malformed_response, outcome unknown for a POST, and not repeated", async () => {
    fake.injectFault("payments.create", { type: "malformed_json" });
    const error = await caught(client().createPayment(topUp(), newKey()));
    expect(error).toMatchObject({
      kind: "malformed_response",
      outcomeUnknown: true,
      httpStatus: 200,
      attempts: 1,
    });
    expect(fake.requests).toHaveLength(1);
    expect(fake.listPayments()).toHaveLength(1); // it was created: GET it or repeat later with the same key

    const id = fake.listPayments()[0]!.id;
    fake.injectFault("payments.get", { type: "malformed_json" });
    expect(await caught(client().getPayment(id))).toMatchObject({
      kind: "malformed_response",
      outcomeUnknown: false,
    });
  });

  it("the same key with a different body is 400 Idempotence-Key, not repeated", async () => {
    const key = newKey();
    await client().createPayment(topUp(), key);
    const error = await caught(
      client().createPayment(topUp({ amount: { amountMinor: 30_000n, currency: "RUB" } }), key),
    );
    expect(error).toMatchObject({
      kind: "invalid_request",
      parameter: "Idempotence-Key",
      outcomeUnknown: false,
      attempts: 1,
    });
    expect(fake.listPayments()).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });

  it("401, 403 and 404 are not repeated", async () => {
    const wrong = await caught(
      client({ secretKey: "test_wrong" }).getPayment("2419a771-000f-5000-9000-1edaf29243f2"),
    );
    expect(wrong).toMatchObject({ kind: "invalid_credentials", httpStatus: 401, attempts: 1 });
    fake.injectFault("refunds.create", {
      type: "error",
      status: 403,
      code: "forbidden",
      description: "Refunds are off",
    });
    const forbidden = await caught(
      client().createRefund(
        { paymentId: "2419a771-000f-5000-9000-1edaf29243f2", amount: { amountMinor: 100n, currency: "RUB" } },
        newKey(),
      ),
    );
    expect(forbidden).toMatchObject({ kind: "forbidden", httpStatus: 403, description: "Refunds are off" });
    const missing = await caught(client().getPayment("2419a771-000f-5000-9000-1edaf29243f2"));
    expect(missing).toMatchObject({ kind: "not_found", httpStatus: 404, attempts: 1 });
    expect(fake.requests).toHaveLength(3);
    expect(sleeps).toEqual([]);
  });

  it("refuses bad input before sending anything", async () => {
    const yookassa = client();
    const cases: Array<[Promise<unknown>, string]> = [
      [yookassa.createPayment(topUp(), "has space"), "Idempotence-Key"],
      [yookassa.createPayment(topUp(), ""), "Idempotence-Key"],
      [yookassa.createPayment(topUp(), "k".repeat(65)), "Idempotence-Key"],
      [
        yookassa.createPayment(topUp({ amount: { amountMinor: 0n, currency: "RUB" } }), newKey()),
        "amount.value",
      ],
      [
        yookassa.createPayment(topUp({ amount: { amountMinor: -100n, currency: "RUB" } }), newKey()),
        "amount.value",
      ],
      [
        yookassa.createPayment(topUp({ amount: { amountMinor: 100n, currency: "rub" } }), newKey()),
        "amount.currency",
      ],
      [yookassa.createPayment(topUp({ description: "я".repeat(129) }), newKey()), "description"],
      [
        yookassa.createPayment(
          topUp({
            metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${String(i)}`, "v"])),
          }),
          newKey(),
        ),
        "metadata",
      ],
      [yookassa.createPayment(topUp({ metadata: { ["k".repeat(33)]: "v" } }), newKey()), "metadata"],
      [
        yookassa.createPayment(
          topUp({ confirmation: { type: "redirect", returnUrl: "not a url" } }),
          newKey(),
        ),
        "confirmation.return_url",
      ],
      [
        yookassa.createPayment(
          topUp({
            receipt: {
              customer: {},
              items: [
                {
                  description: "x",
                  quantity: "1",
                  amount: { amountMinor: 10_000n, currency: "RUB" },
                  vatCode: 1,
                },
              ],
            },
          }),
          newKey(),
        ),
        "receipt.customer",
      ],
      [
        yookassa.createPayment(
          topUp({
            receipt: {
              customer: { phone: "79001234567" },
              items: [
                {
                  description: "x",
                  quantity: "1",
                  amount: { amountMinor: 10_000n, currency: "RUB" },
                  vatCode: 13 as 1,
                },
              ],
            },
          }),
          newKey(),
        ),
        "receipt.items[0].vat_code",
      ],
      [
        yookassa.createPayment(
          topUp({
            receipt: {
              customer: { phone: "79001234567" },
              items: [
                {
                  description: "x",
                  quantity: "1.5000",
                  amount: { amountMinor: 10_000n, currency: "RUB" },
                  vatCode: 1,
                },
              ],
            },
          }),
          newKey(),
        ),
        "receipt.items[0].quantity",
      ],
      [yookassa.getPayment("../refunds"), "payment_id"],
      [yookassa.capturePayment("a/b", newKey()), "payment_id"],
      [yookassa.getRefund(""), "refund_id"],
    ];
    for (const [promise, parameter] of cases) {
      const error = await caught(promise);
      expect(error, parameter).toMatchObject({
        kind: "invalid_request",
        parameter,
        attempts: 0,
        outcomeUnknown: false,
      });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses unsafe options at construction", () => {
    const base = { shopId: SHOP_ID, secretKey: SECRET_KEY };
    expect(() => createYooKassaClient({ ...base, timeoutMs: 30_000 })).toThrow(RangeError);
    expect(() => createYooKassaClient({ ...base, maxAttempts: 0 })).toThrow(RangeError);
    expect(() => createYooKassaClient({ ...base, maxAttempts: 11 })).toThrow(RangeError);
    expect(() =>
      createYooKassaClient({ ...base, apiUrl: `https://${SHOP_ID}:${SECRET_KEY}@api.yookassa.ru/v3/` }),
    ).toThrow("apiUrl must not contain credentials");
    expect(() => createYooKassaClient({ ...base, apiUrl: "ftp://x/" })).toThrow(RangeError);
    expect(() => createYooKassaClient({ ...base, secretKey: "" })).toThrow(RangeError);
    expect(createYooKassaClient(base)).toBeDefined();
  });
});

/** A scripted server for answers the fake does not give: proxy HTML, odd statuses, huge bodies. */
async function scriptedServer(
  answers: Array<{ status: number; body: string | Buffer; contentType?: string }>,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((request, response) => {
    hits += 1;
    request.resume();
    const answer = answers.shift() ?? { status: 500, body: "" };
    response.writeHead(answer.status, { "Content-Type": answer.contentType ?? "application/json" });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/v3`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("defensive reading", () => {
  it("treats a proxy's 502 HTML page as a retryable server error", async () => {
    const server = await scriptedServer([
      { status: 502, body: "<html>Bad Gateway</html>", contentType: "text/html" },
      {
        status: 404,
        body: JSON.stringify({ type: "error", id: "e1", code: "not_found", description: "nope" }),
      },
    ]);
    try {
      const error = await caught(client({ apiUrl: server.url }).getPayment("abc"));
      expect(error).toMatchObject({ kind: "not_found", id: "e1", attempts: 2 });
      expect(retries.map((r) => r.reason)).toEqual(["internal_server_error"]);
    } finally {
      await server.close();
    }
  });

  it("maps an unexpected status to malformed_response and a wrong-shaped 200 to malformed_response", async () => {
    const server = await scriptedServer([
      { status: 409, body: "{}" },
      { status: 200, body: JSON.stringify({ id: "abc", status: "pending", paid: "no" }) },
      {
        status: 200,
        body: JSON.stringify({
          id: "abc",
          status: "pending",
          paid: false,
          amount: { value: 100, currency: "RUB" },
          created_at: "2026-11-01T00:00:00Z",
          test: true,
        }),
      },
    ]);
    try {
      const yookassa = client({ apiUrl: server.url });
      expect(await caught(yookassa.getPayment("abc"))).toMatchObject({
        kind: "malformed_response",
        httpStatus: 409,
      });
      const shape = await caught(yookassa.getPayment("abc"));
      expect(shape).toMatchObject({
        kind: "malformed_response",
        description: "payment.paid: expected a boolean",
      });
      const float = await caught(yookassa.getPayment("abc"));
      expect(float.description).toBe("payment.amount.value: expected a string");
      expect(server.hits()).toBe(3);
    } finally {
      await server.close();
    }
  });

  it("refuses to buffer an answer over 1 MiB", async () => {
    const server = await scriptedServer([{ status: 200, body: Buffer.alloc(2 * 1024 * 1024, 0x20) }]);
    try {
      const error = await caught(client({ apiUrl: server.url, maxAttempts: 1 }).getPayment("abc"));
      expect(error.kind).toBe("malformed_response");
      expect(error.description).toMatch(/larger than/);
    } finally {
      await server.close();
    }
  });
});

describe("credentials never leak into errors", () => {
  function assertClean(error: YooKassaError): void {
    const renderings = [
      error.message,
      String(error),
      error.stack ?? "",
      JSON.stringify(error),
      inspect(error, { depth: 10, showHidden: true }),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(SECRET_KEY);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(`${SHOP_ID}:${SECRET_KEY}`);
      // No Basic credential of any kind (ours or an echoed one) survives.
      expect(text).not.toMatch(/basic\s+[A-Za-z0-9+/=]{8,}/i);
    }
  }

  it("for every kind of failure, including a server that echoes our secret back", async () => {
    const errors: YooKassaError[] = [];
    errors.push(await caught(client({ secretKey: `${SECRET_KEY}x` }).getPayment("abc"))); // 401 with another secret
    fake.injectFault("payments.get", {
      type: "error",
      status: 400,
      code: "invalid_request",
      description: `echo: Authorization: Basic ${TOKEN} ${SHOP_ID}:${SECRET_KEY}`,
      parameter: SECRET_KEY,
    });
    errors.push(await caught(client().getPayment("abc")));
    fake.injectFault("payments.create", { type: "malformed_json" });
    errors.push(await caught(client().createPayment(topUp(), newKey())));
    fake.injectFault("payments.create", { type: "delay", delayMs: 500 });
    errors.push(await caught(client({ timeoutMs: 100, maxAttempts: 1 }).createPayment(topUp(), newKey())));
    errors.push(await caught(client({ apiUrl: "http://127.0.0.1:1/v3/", maxAttempts: 2 }).getPayment("abc")));
    errors.push(await caught(client().createPayment(topUp(), "bad key")));

    expect(errors.map((e) => e.kind)).toEqual([
      "invalid_credentials",
      "invalid_request",
      "malformed_response",
      "timeout",
      "network",
      "invalid_request",
    ]);
    expect(errors[1]?.description).toContain("[REDACTED]");
    expect(errors[4]?.cause).toBeInstanceOf(Error);
    expect(errors[4]?.outcomeUnknown).toBe(false); // a GET changes nothing
    for (const error of errors) assertClean(error);
  });
});
