// Control characters (NUL first: PostgreSQL refuses it in text and jsonb) are refused in every
// string field before any handler runs, with the field named, and nothing is written.
import { ConnectError } from "@connectrpc/connect";
import { Code, errorReason, fieldViolations } from "@billing/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeBilling, startEdgeBilling } from "./harness.js";

describe("control characters in string fields", () => {
  let billing: EdgeBilling;
  beforeAll(async () => {
    billing = await startEdgeBilling({
      label: "edge_ctrl",
      env: {
        PAYMENTS_RECEIPTS: "true",
        YOOKASSA_SHOP_ID: "123456",
        YOOKASSA_SECRET_KEY: "test_secret_key_0123456789",
      },
    });
  });
  afterAll(async () => billing?.close());

  const refusal = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(errorReason(error)).toBe("INVALID_FIELD");
    return fieldViolations(error);
  };

  it("names customer_email and return_url of CreateTopUp (receipts on) and writes nothing", async () => {
    const before = await billing.snapshot();
    const payments = billing.client("bot").payments;
    const violations = await refusal(
      payments.createTopUp({
        userRef: "telegram:1",
        purchase: { case: "packageCode", value: "100" },
        idempotencyKey: "ctrl-1",
        customerEmail: "\u0000@x.ru",
        returnUrl: "https://t.me/\u0000",
      }),
    );
    expect(Object.keys(violations).sort()).toEqual(["customer_email", "return_url"]);
    expect(violations.customer_email).toMatch(/control characters/);
    expect(await billing.snapshot()).toBe(before);
  });

  it("names nested and repeated fields, and a reason with an escape sequence", async () => {
    const service = billing.client("service").quotas;
    const nested = await refusal(
      service.addQuota({
        userRef: "user-1",
        orderId: "order-1",
        units: [{ metric: "chat\u0007tokens", units: 5n }],
      }),
    );
    expect(Object.keys(nested)).toEqual(["units[0].metric"]);
    const admin = billing.client("admin").wallet;
    const grant = await refusal(
      admin.grant({
        userRef: "user-1",
        amountCredits: 5n,
        reason: "support \u001b[31m",
        idempotencyKey: "g-1",
      }),
    );
    expect(Object.keys(grant)).toEqual(["reason"]);
  });

  it("lets tabs and line breaks through in free text", async () => {
    const admin = billing.client("admin").wallet;
    await admin.openAccount({ userRef: "user-2" });
    const granted = await admin.grant({
      userRef: "user-2",
      amountCredits: 5n,
      reason: "support\tticket\n#7",
      idempotencyKey: "g-2",
    });
    expect(granted.balanceAfter?.creditsAvailable).toBe(5n);
  });
});
