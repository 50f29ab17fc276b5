import { createBillingClient } from "@billing/client";
import { describe, expect, it } from "vitest";
import { startBillingProcess } from "../src/index.js";

describe("startBillingProcess", () => {
  it("runs the real billing app on free ports with its own database, and stops it gracefully", async () => {
    const billing = await startBillingProcess({ label: "testkit_proc" });
    const client = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
    try {
      const opened = await client.wallet.openAccount({ userRef: "proc:1" });
      expect(opened.balance?.freeOperationsAvailable).toBe(4n);
      expect(await (await fetch(`${billing.metricsUrl}/metrics`)).text()).toContain(
        "billing_rpc_duration_seconds",
      );
    } finally {
      client.close();
      await billing.close();
    }
    expect(await billing.app.exited).toBe(0);
  }, 90_000);
});
