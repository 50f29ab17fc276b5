// The HTTP control API, the checkout page and the runnable entry point, as a person would use them.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { startFakeYooKassa } from "../../src/index.js";
import type { FakeYooKassa } from "../../src/index.js";
import {
  SHOP_ID,
  SECRET_KEY,
  api,
  basicAuth,
  createPayment,
  newKey,
  paymentBody,
  startReceiver,
} from "./helpers.js";

let fake: FakeYooKassa;

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, refundsStartPending: true });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

async function control(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(new URL(path, fake.controlUrl), {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }),
  });
  return { status: response.status, json: await response.json() };
}

describe("control API over HTTP", () => {
  it("pays, declines and expires payments; refuses impossible transitions with 409 and unknown ids with 404", async () => {
    const { id: a } = (await createPayment(fake)) as { id: string };
    const { id: b } = (await createPayment(fake)) as { id: string };
    const { id: c } = (await createPayment(fake)) as { id: string };
    expect(await control("POST", `payments/${a}/pay`)).toMatchObject({
      status: 200,
      json: { status: "succeeded" },
    });
    expect(await control("POST", `payments/${b}/decline`, { reason: "card_expired" })).toMatchObject({
      status: 200,
      json: { status: "canceled", cancellation_details: { reason: "card_expired" } },
    });
    expect(await control("POST", `payments/${c}/expire`)).toMatchObject({
      json: { cancellation_details: { reason: "expired_on_confirmation" } },
    });
    expect((await control("POST", `payments/${a}/pay`)).status).toBe(409);
    expect((await control("POST", "payments/nope/pay")).status).toBe(404);
    expect(await control("GET", `payments/${a}`)).toMatchObject({
      status: 200,
      json: { id: a, status: "succeeded" },
    });
    const state = (await control("GET", "state")).json as { payments: unknown[] };
    expect(state.payments).toHaveLength(3);
  });

  it("completes and cancels pending refunds", async () => {
    const { id } = (await createPayment(fake)) as { id: string };
    fake.pay(id);
    const refund = await api(fake, "POST", "refunds", {
      body: { payment_id: id, amount: { value: "100.00", currency: "RUB" } },
      key: newKey(),
    });
    const refundId = refund.json["id"] as string;
    expect(await control("POST", `refunds/${refundId}/complete`)).toMatchObject({
      status: 200,
      json: { status: "succeeded" },
    });
    expect((await control("POST", `refunds/${refundId}/cancel`)).status).toBe(409);
    expect(await control("GET", `refunds/${refundId}`)).toMatchObject({ json: { status: "succeeded" } });
  });

  it("queues faults and lists requests and notifications", async () => {
    expect(
      (
        await control("POST", "faults", {
          endpoint: "payments.create",
          fault: { type: "rate_limit", retryAfterMs: 5 },
        })
      ).status,
    ).toBe(200);
    expect((await control("POST", "faults", { fault: { type: "bogus" } })).status).toBe(400);
    expect((await control("GET", "faults")).json).toEqual([
      { endpoint: "payments.create", fault: { type: "rate_limit", retryAfterMs: 5 } },
    ]);
    const key = newKey();
    expect((await api(fake, "POST", "payments", { body: paymentBody(), key })).status).toBe(429);
    const requests = (await control("GET", "requests")).json as Array<Record<string, unknown>>;
    expect(requests).toEqual([
      expect.objectContaining({
        endpoint: "payments.create",
        status: 429,
        fault: "rate_limit",
        idempotenceKey: key,
      }),
    ]);
    await control("POST", "faults", { endpoint: "payments.get", fault: { type: "server_error" } });
    expect((await control("DELETE", "faults")).json).toEqual([]);
  });

  it("drives notifications: url, hold, release, forged send", async () => {
    const receiver = await startReceiver();
    try {
      await control("PUT", "notification-url", { url: receiver.url });
      const { id } = (await createPayment(fake, { capture: false })) as { id: string };
      await control("POST", "notifications/hold");
      fake.pay(id);
      await api(fake, "POST", `payments/${id}/capture`, { body: {}, key: newKey() });
      expect(await control("POST", "notifications/release", { order: "reverse" })).toMatchObject({
        json: { released: 2 },
      });
      await fake.notificationsSettled();
      expect(receiver.received.map((r) => r.body["event"])).toEqual([
        "payment.succeeded",
        "payment.waiting_for_capture",
      ]);

      const { id: pending } = (await createPayment(fake)) as { id: string };
      await control("POST", "notifications/quirks", { duplicates: 1 });
      expect((await control("POST", "notifications/send", { paymentId: pending, forged: true })).status).toBe(
        200,
      );
      await fake.notificationsSettled();
      expect(receiver.received.slice(2).map((r) => r.body["event"])).toEqual([
        "payment.succeeded",
        "payment.succeeded",
      ]);
      const log = (await control("GET", "notifications")).json as { deliveries: unknown[] };
      expect(log.deliveries).toHaveLength(4);
    } finally {
      await receiver.close();
    }
  });
});

describe("checkout page", () => {
  it("shows the payment with Pay and Decline forms that post to the control API and return to the shop", async () => {
    const created = await createPayment(fake, { description: "<b>Top-up</b>" });
    const id = created["id"] as string;
    const url = (created["confirmation"] as { confirmation_url: string }).confirmation_url;
    const html = await (await fetch(url)).text();
    expect(html).toContain("100.00 RUB");
    expect(html).toContain("&lt;b&gt;Top-up&lt;/b&gt;"); // escaped
    expect(html).toContain(`action="/__control/payments/${id}/pay?redirect=1"`);
    expect(html).toContain(`action="/__control/payments/${id}/decline?redirect=1"`);

    // What the browser does when "Decline" is pressed.
    const declined = await fetch(new URL(`/__control/payments/${id}/decline?redirect=1`, fake.origin), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "reason=3d_secure_failed",
      redirect: "manual",
    });
    expect(declined.status).toBe(303);
    expect(declined.headers.get("location")).toBe("https://t.me/example_bot");
    expect(fake.getPayment(id)?.cancellation_details).toEqual({
      party: "payment_network",
      reason: "3d_secure_failed",
    });
    expect(await (await fetch(url)).text()).toContain("nothing left to do");

    const index = await (await fetch(fake.origin)).text();
    expect(index).toContain(`/checkout/${id}`);
    expect((await fetch(new URL("/checkout/unknown", fake.origin))).status).toBe(404);
  });
});

describe("bin/fake-yookassa", () => {
  it("starts from env/argv, prints one JSON line with its URL, serves the API and stops on SIGTERM", async () => {
    const entry = fileURLToPath(new URL("../../src/bin/fake-yookassa.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", entry, "--port", "0", "--shop-id", SHOP_ID], {
      env: { ...process.env, YOOKASSA_SECRET_KEY: SECRET_KEY },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once("line", resolve);
        child.once("exit", (code) => reject(new Error(`exited with ${String(code)}`)));
      });
      const ready = JSON.parse(line) as { url: string; controlUrl: string; pid: number };
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v3\/$/);
      expect(ready.pid).toBe(child.pid);
      const created = await fetch(new URL("payments", ready.url), {
        method: "POST",
        headers: {
          Authorization: basicAuth(),
          "Idempotence-Key": newKey(),
          "Content-Type": "application/json",
        },
        body: JSON.stringify(paymentBody()),
      });
      expect(created.status).toBe(200);
      const { id } = (await created.json()) as { id: string };
      const paid = await fetch(new URL(`payments/${id}/pay`, ready.controlUrl), { method: "POST" });
      expect(((await paid.json()) as { status: string }).status).toBe("succeeded");
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });

  it("refuses to start without credentials", async () => {
    const entry = fileURLToPath(new URL("../../src/bin/fake-yookassa.ts", import.meta.url));
    const env = { ...process.env };
    delete env["YOOKASSA_SECRET_KEY"];
    delete env["YOOKASSA_SHOP_ID"];
    const child = spawn(process.execPath, ["--import", "tsx", entry, "--port", "0"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("--shop-id and --secret-key");
  });
});
