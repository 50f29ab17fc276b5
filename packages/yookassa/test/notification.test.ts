// Parsing notification bodies: a validated envelope, or a typed error for garbage.
import { describe, expect, it } from "vitest";

import { NotificationParseError, parseNotification } from "../src/index.js";

const payment = {
  id: "2419a771-000f-5000-9000-1edaf29243f2",
  status: "succeeded",
  paid: true,
  amount: { value: "100.00", currency: "RUB" },
  income_amount: { value: "96.50", currency: "RUB" },
  created_at: "2026-11-01T10:00:00.000Z",
  captured_at: "2026-11-01T10:01:00.000Z",
  test: true,
  refundable: true,
  metadata: { user_ref: "telegram:42" },
  payment_method: {
    type: "bank_card",
    id: "2419a771-000f-5000-9000-1edaf29243f2",
    saved: false,
    card: { last4: "4444" },
  },
};

describe("parseNotification", () => {
  it("reads payment events with a typed payment (money as bigint kopecks)", () => {
    const parsed = parseNotification({ type: "notification", event: "payment.succeeded", object: payment });
    expect(parsed.kind).toBe("payment");
    if (parsed.kind !== "payment") return;
    expect(parsed.event).toBe("payment.succeeded");
    expect(parsed.object).toMatchObject({
      id: payment.id,
      status: "succeeded",
      paid: true,
      amount: { amountMinor: 10_000n, currency: "RUB" },
      incomeAmount: { amountMinor: 9_650n, currency: "RUB" },
      metadata: { user_ref: "telegram:42" },
      test: true,
    });
    expect(parsed.object.paymentMethod?.type).toBe("bank_card");
    expect(parsed.object.paymentMethod?.raw["card"]).toEqual({ last4: "4444" });
  });

  it("reads canceled payments with cancellation details, without judging the party", () => {
    const parsed = parseNotification({
      type: "notification",
      event: "payment.canceled",
      object: {
        ...payment,
        status: "canceled",
        paid: false,
        cancellation_details: { party: "some_new_party", reason: "expired_on_confirmation" },
      },
    });
    expect(parsed.kind === "payment" && parsed.object.cancellationDetails).toEqual({
      party: "some_new_party",
      reason: "expired_on_confirmation",
    });
  });

  it("reads refund.succeeded with a typed refund", () => {
    const parsed = parseNotification(
      JSON.stringify({
        type: "notification",
        event: "refund.succeeded",
        object: {
          id: "216749f7-0016-50be-b000-078d43a63ae4",
          payment_id: payment.id,
          status: "succeeded",
          amount: { value: "1.50", currency: "RUB" },
          created_at: "2026-11-01T11:00:00.000Z",
        },
      }),
    );
    expect(parsed).toMatchObject({
      kind: "refund",
      event: "refund.succeeded",
      object: { paymentId: payment.id, amount: { amountMinor: 150n } },
    });
  });

  it("recognises other well-formed events (payouts, deals) as ignored, with the object id", () => {
    for (const event of [
      "payout.succeeded",
      "payout.canceled",
      "deal.closed",
      "payment_method.active",
      "payment.new_future_event",
    ]) {
      const parsed = parseNotification({
        type: "notification",
        event,
        object: { id: "po-1", status: "succeeded" },
      });
      expect(parsed).toMatchObject({ kind: "ignored", event, objectId: "po-1" });
    }
  });

  it("accepts the raw body as bytes", () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ type: "notification", event: "payment.succeeded", object: payment }),
    );
    expect(parseNotification(bytes).kind).toBe("payment");
  });

  const garbage: Array<[string, unknown, string]> = [
    ["not JSON", "{oops", "body"],
    ["an array", [], "body"],
    ["null", null, "body"],
    ["wrong type", { type: "event", event: "payment.succeeded", object: payment }, "type"],
    ["no event", { type: "notification", object: payment }, "event"],
    ["odd event", { type: "notification", event: "PAYMENT SUCCEEDED", object: payment }, "event"],
    ["no object", { type: "notification", event: "payment.succeeded" }, "object"],
    [
      "float amount",
      {
        type: "notification",
        event: "payment.succeeded",
        object: { ...payment, amount: { value: 100.5, currency: "RUB" } },
      },
      "object.amount.value",
    ],
    [
      "exponent amount",
      {
        type: "notification",
        event: "payment.succeeded",
        object: { ...payment, amount: { value: "1e3", currency: "RUB" } },
      },
      "object.amount.value",
    ],
    [
      "unknown status",
      { type: "notification", event: "payment.succeeded", object: { ...payment, status: "done" } },
      "object.status",
    ],
    [
      "bad id",
      { type: "notification", event: "payment.succeeded", object: { ...payment, id: "../../admin" } },
      "object.id",
    ],
    [
      "ignored event without object",
      { type: "notification", event: "payout.succeeded", object: "x" },
      "object",
    ],
  ];
  it.each(garbage)("refuses %s with a typed error at %s", (_name, body, path) => {
    let caught: unknown;
    try {
      parseNotification(body);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NotificationParseError);
    expect((caught as NotificationParseError).path).toBe(path);
  });

  it("refuses bodies over 1 MiB before parsing", () => {
    expect(() => parseNotification(" ".repeat(1024 * 1024 + 1))).toThrow(NotificationParseError);
  });
});
