import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

describe("smoke", () => {
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "smoke" });
  });
  afterAll(async () => billing?.close());

  it("answers the price list from configuration", async () => {
    const prices = await billing.client("admin").wallet.getPriceList({});
    expect(prices.prices.map((p) => [p.operation, p.priceCredits])).toContainEqual(["generate", 10n]);
    const opened = await billing.client("admin").wallet.openAccount({ userRef: "telegram:1" });
    expect(opened.created).toBe(true);
    expect(opened.balance?.freeOperationsAvailable).toBe(4n);
    const charged = await billing
      .client("admin")
      .wallet.charge({ userRef: "telegram:1", operation: "generate", idempotencyKey: "k1" });
    expect(charged.balanceAfter?.freeOperationsAvailable).toBe(3n);
    const report = await billing.client("admin").wallet.verifyLedger({});
    expect(report.violations).toEqual([]);
  });
});
