// How a receiver is meant to use this package, against the fake's real notifications: check the
// sender's address, parse the body, then act only on what GET says.
import http from "node:http";
import type { AddressInfo } from "node:net";

import { startFakeYooKassa } from "@billing/testkit";
import type { FakeYooKassa } from "@billing/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  NotificationParseError,
  YOOKASSA_NOTIFICATION_CIDRS,
  createIpMatcher,
  createYooKassaClient,
  parseNotification,
  resolveClientIp,
} from "../src/index.js";
import type { PaymentStatus, YooKassaClient } from "../src/index.js";

const SHOP_ID = "777";
const SECRET_KEY = "test_webhook_flow_secret";

interface Outcome {
  readonly peer: string | undefined;
  readonly verdict: "rejected_sender" | "bad_body" | "ignored" | "checked";
  readonly claimed?: string;
  readonly truth?: PaymentStatus;
}

let fake: FakeYooKassa;
let server: http.Server;
let yookassa: YooKassaClient;
let outcomes: Outcome[];

beforeEach(async () => {
  outcomes = [];
  // In production: YOOKASSA_NOTIFICATION_CIDRS only. Locally the fake sends from 127.0.0.1.
  const senders = createIpMatcher([...YOOKASSA_NOTIFICATION_CIDRS, "127.0.0.1/32"]);
  const trustedProxies = createIpMatcher([]);
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      void (async () => {
        const peer = request.socket.remoteAddress;
        const client = resolveClientIp({
          remoteAddress: peer,
          xForwardedFor: request.headers["x-forwarded-for"],
          trustedProxies,
        });
        if (client === undefined || !senders.contains(client)) {
          outcomes.push({ peer, verdict: "rejected_sender" });
          response.writeHead(403).end();
          return;
        }
        try {
          const notification = parseNotification(Buffer.concat(chunks));
          if (notification.kind !== "payment") {
            outcomes.push({ peer, verdict: "ignored" });
          } else {
            // The body only names the payment; the truth comes from GET.
            const truth = await yookassa.getPayment(notification.object.id);
            outcomes.push({
              peer,
              verdict: "checked",
              claimed: notification.object.status,
              truth: truth.status,
            });
          }
          response.writeHead(200).end();
        } catch (error) {
          if (!(error instanceof NotificationParseError)) throw error;
          outcomes.push({ peer, verdict: "bad_body" });
          response.writeHead(400).end();
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  fake = await startFakeYooKassa({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    notificationUrl: `http://127.0.0.1:${String(port)}/yookassa`,
    notificationRetryDelaysMs: [10, 10],
  });
  yookassa = createYooKassaClient({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    apiUrl: fake.url,
    timeoutMs: 2_000,
    unsafeAllowShortTimeout: true,
  });
});

afterEach(async () => {
  await fake.close();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

const topUp = {
  amount: { amountMinor: 50_000n, currency: "RUB" },
  capture: true,
  confirmation: { type: "redirect" as const, returnUrl: "https://t.me/example_bot" },
};

describe("webhook flow against the fake", () => {
  it("a genuine notification is accepted and GET confirms it", async () => {
    const payment = await yookassa.createPayment(topUp, "flow-genuine");
    fake.pay(payment.id);
    await fake.notificationsSettled();
    expect(outcomes).toEqual([
      { peer: "127.0.0.1", verdict: "checked", claimed: "succeeded", truth: "succeeded" },
    ]);
  });

  it("a forged body is caught by GET: it claims succeeded, YooKassa says pending", async () => {
    const payment = await yookassa.createPayment(topUp, "flow-forged");
    fake.sendNotification({ paymentId: payment.id, forged: true });
    await fake.notificationsSettled();
    expect(outcomes).toEqual([
      { peer: "127.0.0.1", verdict: "checked", claimed: "succeeded", truth: "pending" },
    ]);
  });

  it("a foreign sender with a spoofed X-Forwarded-For is refused on every redelivery", async () => {
    const payment = await yookassa.createPayment(topUp, "flow-foreign");
    fake.queueNotificationQuirk({ fromForeignAddress: true, forwardedFor: "185.71.76.10" });
    fake.pay(payment.id);
    await fake.notificationsSettled();
    expect(outcomes).toEqual([
      { peer: "127.0.0.2", verdict: "rejected_sender" },
      { peer: "127.0.0.2", verdict: "rejected_sender" },
      { peer: "127.0.0.2", verdict: "rejected_sender" },
    ]);
    expect(fake.deliveries.map((d) => d.status)).toEqual([403, 403, 403]);
    expect(fake.notifications[0]?.state).toBe("failed");
  });

  it("duplicates and reordering reach the receiver; each is re-read, so the latest truth wins", async () => {
    const payment = await yookassa.createPayment({ ...topUp, capture: false }, "flow-reorder");
    fake.holdNotifications();
    fake.queueNotificationQuirk({ event: "payment.waiting_for_capture", duplicates: 1 });
    fake.pay(payment.id);
    await yookassa.capturePayment(payment.id, "flow-reorder-capture");
    fake.releaseNotifications("reverse");
    await fake.notificationsSettled();
    expect(outcomes.map((o) => [o.claimed, o.truth])).toEqual([
      ["succeeded", "succeeded"],
      ["waiting_for_capture", "succeeded"],
      ["waiting_for_capture", "succeeded"],
    ]);
  });
});
