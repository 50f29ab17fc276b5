// Keys the service derives (a quota addition per order, a quota debit per caller reference) live in
// a namespace no caller key can reach: a caller who sends the derived key's text as their own
// idempotency key neither blocks the quota command nor is answered with its result.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

let billing: TestBilling;

beforeAll(async () => {
  billing = await startTestBilling({ label: "derived_keys" });
});

afterAll(async () => {
  await billing.close();
});

describe("derived idempotency keys", () => {
  it("a Charge keyed quota:add:ORDER-1 does not block the AddQuota of ORDER-1, nor the other way round", async () => {
    const user = "telegram:7001";
    const caller = billing.client("admin");
    const service = billing.client("service");
    await caller.wallet.openAccount({ userRef: user });

    const charged = await caller.wallet.charge({
      userRef: user,
      operation: "generate",
      idempotencyKey: "quota:add:ORDER-1",
    });
    expect(charged.transferId).not.toBe("");

    const added = await service.quotas.addQuota({
      userRef: user,
      orderId: "ORDER-1",
      units: [{ metric: "tpl_run", units: 5n }],
    });
    const tplRun = added.metrics.find((m) => m.metric === "tpl_run");
    expect(tplRun?.extra).toBe(5n);

    // Each is still answered as itself on a replay, and the ledger moved exactly one free operation.
    const again = await caller.wallet.charge({
      userRef: user,
      operation: "generate",
      idempotencyKey: "quota:add:ORDER-1",
    });
    expect(again.transferId).toBe(charged.transferId);
    const addedAgain = await service.quotas.addQuota({
      userRef: user,
      orderId: "ORDER-1",
      units: [{ metric: "tpl_run", units: 5n }],
    });
    expect(addedAgain.metrics.find((m) => m.metric === "tpl_run")?.extra).toBe(5n);
    const balance = await caller.wallet.getBalance({ userRef: user });
    expect(balance.freeOperationsAvailable).toBe(3n);
  });
});
