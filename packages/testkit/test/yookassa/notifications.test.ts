// Notifications: one per status change, retried on non-200, and the misbehaviours on request.
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { startFakeYooKassa } from "../../src/index.js";
import type { FakeYooKassa } from "../../src/index.js";
import { SHOP_ID, SECRET_KEY, api, createPayment, newKey, startReceiver, waitUntil } from "./helpers.js";

let fake: FakeYooKassa;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const plan: number[] = [];

beforeEach(async () => {
  plan.length = 0;
  receiver = await startReceiver(plan);
  fake = await startFakeYooKassa({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    notificationUrl: receiver.url,
    notificationRetryDelaysMs: [10, 20, 40],
    notificationTimeoutMs: 1000,
  });
});
afterEach(async () => {
  await fake.close();
  await receiver.close();
});

describe("notifications", () => {
  it("posts {type, event, object} on every status change, the object as it was at the event", async () => {
    const { id } = (await createPayment(fake, { capture: false })) as { id: string };
    fake.pay(id);
    await fake.notificationsSettled();
    await api(fake, "POST", `payments/${id}/capture`, { body: {}, key: newKey() });
    await fake.notificationsSettled();

    expect(receiver.received.map((r) => r.body["event"])).toEqual([
      "payment.waiting_for_capture",
      "payment.succeeded",
    ]);
    const [waiting, succeeded] = receiver.received;
    expect(waiting?.body).toMatchObject({
      type: "notification",
      object: { id, status: "waiting_for_capture", paid: true },
    });
    expect(succeeded?.body).toMatchObject({ type: "notification", object: { id, status: "succeeded" } });
    expect(waiting?.headers["content-type"]).toBe("application/json");
    expect(waiting?.peer).toBe("127.0.0.1");
    expect(fake.deliveries.map((d) => [d.event, d.attempt, d.status])).toEqual([
      ["payment.waiting_for_capture", 1, 200],
      ["payment.succeeded", 1, 200],
    ]);
    expect(fake.notifications.every((n) => n.state === "delivered" && !n.forged)).toBe(true);
  });

  it("sends payment.canceled on decline/expire and refund.succeeded on a refund", async () => {
    const { id: declined } = (await createPayment(fake)) as { id: string };
    fake.decline(declined, "fraud_suspected");
    const { id: paid } = (await createPayment(fake)) as { id: string };
    fake.pay(paid);
    const refund = await api(fake, "POST", "refunds", {
      body: { payment_id: paid, amount: { value: "10.00", currency: "RUB" } },
      key: newKey(),
    });
    await fake.notificationsSettled();
    const byEvent = new Map(receiver.received.map((r) => [r.body["event"], r.body["object"]]));
    expect(byEvent.get("payment.canceled")).toMatchObject({
      id: declined,
      cancellation_details: { reason: "fraud_suspected" },
    });
    expect(byEvent.get("payment.succeeded")).toMatchObject({ id: paid });
    expect(byEvent.get("refund.succeeded")).toMatchObject({
      id: refund.json["id"],
      payment_id: paid,
      status: "succeeded",
    });
  });

  it("retries on anything but 200 at the configured intervals, and records every attempt", async () => {
    plan.push(500, 404);
    const { id } = (await createPayment(fake)) as { id: string };
    fake.pay(id);
    await fake.notificationsSettled();
    expect(receiver.received.map((r) => r.answeredWith)).toEqual([500, 404, 200]);
    expect(fake.deliveries.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 404],
      [3, 200],
    ]);
    expect(receiver.received.every((r) => (r.body["object"] as { id: string }).id === id)).toBe(true);
    expect(fake.notifications[0]?.state).toBe("delivered");
  });

  it("gives up after the bounded number of attempts", async () => {
    plan.push(500, 500, 500, 500, 500, 500);
    const { id } = (await createPayment(fake)) as { id: string };
    fake.pay(id);
    await fake.notificationsSettled();
    expect(fake.deliveries).toHaveLength(4); // 1 + 3 retry delays
    expect(fake.notifications[0]?.state).toBe("failed");
  });

  it("records a refused connection as an attempt without status and retries it", async () => {
    await receiver.close();
    const { id } = (await createPayment(fake)) as { id: string };
    fake.pay(id);
    await fake.notificationsSettled();
    expect(fake.deliveries).toHaveLength(4);
    expect(fake.deliveries.every((d) => d.status === undefined && d.error !== undefined)).toBe(true);
  });

  it("delivers duplicates on request", async () => {
    fake.queueNotificationQuirk({ event: "payment.succeeded", duplicates: 2 });
    const { id } = (await createPayment(fake)) as { id: string };
    fake.pay(id);
    await fake.notificationsSettled();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => JSON.stringify(r.body))).size).toBe(1);
    const [original, ...copies] = fake.notifications;
    expect(copies.map((c) => c.duplicateOf)).toEqual([original?.id, original?.id]);
  });

  it("delays a notification on request", async () => {
    fake.queueNotificationQuirk({ delayMs: 150 });
    const { id } = (await createPayment(fake)) as { id: string };
    const paidAt = Date.now();
    fake.pay(id);
    await waitUntil(() => receiver.received.length === 1);
    expect(Date.now() - paidAt).toBeGreaterThanOrEqual(140);
  });

  it("reorders: held notifications released in reverse arrive succeeded-first", async () => {
    const { id } = (await createPayment(fake, { capture: false })) as { id: string };
    fake.holdNotifications();
    fake.pay(id);
    await api(fake, "POST", `payments/${id}/capture`, { body: {}, key: newKey() });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(receiver.received).toHaveLength(0);
    expect(fake.notifications.map((n) => n.state)).toEqual(["held", "held"]);
    expect(fake.releaseNotifications("reverse")).toBe(2);
    await fake.notificationsSettled();
    expect(receiver.received.map((r) => r.body["event"])).toEqual([
      "payment.succeeded",
      "payment.waiting_for_capture",
    ]);
  });

  it("reorders across payments' final states too: canceled delivered after succeeded", async () => {
    const { id: a } = (await createPayment(fake)) as { id: string };
    const { id: b } = (await createPayment(fake)) as { id: string };
    fake.holdNotifications();
    fake.decline(a);
    fake.pay(b);
    fake.releaseNotifications("reverse");
    await fake.notificationsSettled();
    expect(receiver.received.map((r) => r.body["event"])).toEqual(["payment.succeeded", "payment.canceled"]);
  });

  it("forges a body that says succeeded while GET still says pending", async () => {
    const { id } = (await createPayment(fake)) as { id: string };
    const notificationId = fake.sendNotification({ paymentId: id, forged: true });
    await fake.notificationsSettled();
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.body).toMatchObject({
      type: "notification",
      event: "payment.succeeded",
      object: { id, status: "succeeded", paid: true },
    });
    const truth = await api(fake, "GET", `payments/${id}`);
    expect(truth.json).toMatchObject({ status: "pending", paid: false });
    expect(fake.notifications.find((n) => n.id === notificationId)?.forged).toBe(true);
    expect(fake.deliveries[0]?.forged).toBe(true);
  });

  it("sends from a foreign source address (127.0.0.2) and can add a spoofed X-Forwarded-For", async () => {
    const { id } = (await createPayment(fake)) as { id: string };
    fake.queueNotificationQuirk({ fromForeignAddress: true, forwardedFor: "185.71.76.10" });
    fake.pay(id);
    await fake.notificationsSettled();
    fake.sendNotification({ paymentId: id }); // an ordinary redelivery, for comparison
    await fake.notificationsSettled();
    expect(receiver.received.map((r) => r.peer)).toEqual(["127.0.0.2", "127.0.0.1"]);
    expect(receiver.received[0]?.headers["x-forwarded-for"]).toBe("185.71.76.10");
    expect(receiver.received[1]?.headers["x-forwarded-for"]).toBeUndefined();
    expect(fake.deliveries.map((d) => d.localAddress)).toEqual(["127.0.0.2", undefined]);
  });

  it("records notifications without a URL as dropped, and sends them once a URL is set", async () => {
    fake.setNotificationUrl(undefined);
    const { id } = (await createPayment(fake)) as { id: string };
    fake.pay(id);
    expect(fake.notifications[0]).toMatchObject({
      event: "payment.succeeded",
      objectId: id,
      state: "dropped",
    });
    fake.setNotificationUrl(receiver.url);
    fake.sendNotification({ paymentId: id });
    await fake.notificationsSettled();
    expect(receiver.received).toHaveLength(1);
  });

  it("refuses a redelivery for a pending payment unless the event is named", async () => {
    const { id } = (await createPayment(fake)) as { id: string };
    expect(() => fake.sendNotification({ paymentId: id })).toThrow(/pending/);
    fake.sendNotification({ paymentId: id, event: "payment.canceled" });
    await fake.notificationsSettled();
    expect(receiver.received[0]?.body).toMatchObject({
      event: "payment.canceled",
      object: { status: "pending" },
    });
  });
});
