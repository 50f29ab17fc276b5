// The receiver on its own: who may send, how much, what is garbage (parked on the dead-letter
// stream), and 5xx while billing cannot be reached so YooKassa redelivers.
import { freePort, uniqueName } from "@billing/testkit";
import { ConfigError } from "@billing/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhooks, type Webhooks } from "../src/index.js";
import {
  deleteDeadLetterStream,
  metrics,
  notification,
  notificationCount,
  post,
  readDeadLetters,
  waitFor,
  webhooksConfig,
} from "./helpers.js";

const payment = {
  id: "2f1b8c3e-000f-5000-9000-1a2b3c4d5e6f",
  status: "succeeded",
  paid: true,
  amount: { value: "100.00", currency: "RUB" },
  created_at: "2026-11-22T10:00:00.000Z",
  test: true,
  refundable: true,
  metadata: {},
};

describe("the receiver with billing unreachable", () => {
  const namespace = uniqueName("webhooks_rx");
  let webhooks: Webhooks;
  beforeAll(async () => {
    webhooks = await startWebhooks({
      config: webhooksConfig({
        // Nothing listens there: billing is "down".
        BILLING_URL: `http://127.0.0.1:${await freePort()}`,
        BILLING_TOKEN: "webhooks-test-token-0123456789",
        WEBHOOKS_ALLOWED_SENDERS: "127.0.0.1/32",
        WEBHOOKS_BILLING_TIMEOUT_MS: "1000",
        WEBHOOKS_MAX_BODY_BYTES: "4096",
        NATS_NAMESPACE: namespace,
      }),
    });
  });
  afterAll(async () => {
    await webhooks?.close();
    await deleteDeadLetterStream(namespace);
  });

  it("answers 503 for a real notification while billing is down, so YooKassa redelivers", async () => {
    const answer = await post(webhooks.webhookUrl, notification("payment.succeeded", payment));
    expect(answer.status).toBe(503);
    expect(notificationCount(await metrics(webhooks.port), "payment.succeeded", "unavailable")).toBe(1);
  });

  it("answers 200 for events it deliberately ignores, without billing", async () => {
    const answer = await post(
      webhooks.webhookUrl,
      notification("payout.succeeded", { id: "po-1", status: "succeeded" }),
    );
    expect(answer.status).toBe(200);
    expect(notificationCount(await metrics(webhooks.port), "other", "ignored")).toBe(1);
  });

  it("refuses bodies above the bound with 413, declared or streamed", async () => {
    const big = notification("payment.succeeded", { ...payment, description: "x".repeat(5_000) });
    expect((await post(webhooks.webhookUrl, big)).status).toBe(413);
    expect((await post(webhooks.webhookUrl, big, { chunked: true })).status).toBe(413);
    expect(notificationCount(await metrics(webhooks.port), "unknown", "too_large")).toBe(2);
  });

  it("answers 400 to garbage and parks it on the dead-letter stream once, however often it comes", async () => {
    const garbage =
      '{"type":"notification","event":"payment.succeeded","object":{"id":"x","amount":{"value":"1e3"}}}';
    for (let i = 0; i < 3; i++) expect((await post(webhooks.webhookUrl, garbage)).status).toBe(400);
    expect((await post(webhooks.webhookUrl, "not json at all")).status).toBe(400);
    const letters = await waitFor("two dead letters", async () => {
      const parked = await readDeadLetters(namespace);
      return parked.length >= 2 ? parked : undefined;
    });
    expect(letters).toEqual([
      {
        reason: "invalid_notification",
        detail: expect.stringMatching(/object.*\(sender 127\.0\.0\.1\)$/),
        app: "webhooks",
        subject: "webhooks.yookassa",
        body: garbage,
      },
      {
        reason: "invalid_notification",
        detail: expect.stringMatching(/not valid JSON.*\(sender 127\.0\.0\.1\)$/),
        app: "webhooks",
        subject: "webhooks.yookassa",
        body: "not json at all",
      },
    ]);
  });

  it("refuses senders outside the allowlist with 403, and other paths and methods", async () => {
    const foreign = await post(webhooks.webhookUrl, notification("payment.succeeded", payment), {
      localAddress: "127.0.0.2",
      headers: { "x-forwarded-for": "185.71.76.10" },
    });
    expect(foreign.status).toBe(403);
    // Other paths belong to the ops routes: GET only (/healthz, /readyz, /metrics), else 404/405.
    expect((await post(webhooks.webhookUrl.replace("/webhook", "/other"), "{}")).status).toBe(405);
    expect((await fetch(webhooks.webhookUrl.replace("/webhook", "/other"))).status).toBe(404);
    expect((await post(webhooks.webhookUrl, "", { method: "GET" })).status).toBe(405);
    expect(notificationCount(await metrics(webhooks.port), "unknown", "forbidden")).toBe(1);
  });
});

describe("the receiver behind a trusted proxy", () => {
  let webhooks: Webhooks;
  beforeAll(async () => {
    webhooks = await startWebhooks({
      config: webhooksConfig({
        BILLING_URL: `http://127.0.0.1:${await freePort()}`,
        BILLING_TOKEN: "webhooks-test-token-0123456789",
        // Production defaults: only YooKassa's ranges; our proxy is 127.0.0.1.
        WEBHOOKS_TRUSTED_PROXIES: "127.0.0.1/32",
        WEBHOOKS_DEAD_LETTERS: "false",
      }),
    });
  });
  afterAll(async () => webhooks?.close());

  it("believes X-Forwarded-For only from the trusted proxy", async () => {
    const ignored = notification("payout.succeeded", { id: "po-2" });
    const viaProxy = await post(webhooks.webhookUrl, ignored, {
      headers: { "x-forwarded-for": "185.71.76.10" },
    });
    expect(viaProxy.status).toBe(200);
    const proxyItself = await post(webhooks.webhookUrl, ignored);
    expect(proxyItself.status).toBe(403);
    const spoofed = await post(webhooks.webhookUrl, ignored, {
      headers: { "x-forwarded-for": "185.71.76.10, 10.0.0.1" },
    });
    expect(spoofed.status).toBe(403);
    const notProxy = await post(webhooks.webhookUrl, ignored, {
      localAddress: "127.0.0.2",
      headers: { "x-forwarded-for": "185.71.76.10" },
    });
    expect(notProxy.status).toBe(403);
  });

  it("serves /healthz and /readyz on the ops port", async () => {
    expect((await fetch(`http://127.0.0.1:${webhooks.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${webhooks.port}/readyz`)).status).toBe(200);
  });
});

describe("start-up", () => {
  it("refuses a malformed sender range with a configuration error naming the variable", async () => {
    const started = startWebhooks({
      config: webhooksConfig({
        BILLING_URL: "http://127.0.0.1:1",
        BILLING_TOKEN: "webhooks-test-token-0123456789",
        WEBHOOKS_ALLOWED_SENDERS: "yookassa,10.0.0.1/8",
        WEBHOOKS_DEAD_LETTERS: "false",
      }),
    });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(/WEBHOOKS_ALLOWED_SENDERS/);
  });
});
