// Telling once per key (a billing event id, a job id) while deliveries of the same thing overlap.
import { describe, expect, it } from "vitest";
import { BoundedSet } from "../../src/bounded.js";
import { claimOnce, type Settle } from "../../src/results.js";

describe("claimOnce", () => {
  it("lets only the first of two overlapping deliveries speak", async () => {
    const claims = new BoundedSet<string>(10, 60_000);
    const told: string[] = [];
    let release: () => void = () => undefined;
    const sending = new Promise<void>((resolve) => (release = resolve));
    const first = claimOnce(claims, "event-1", async () => {
      told.push("first");
      await sending;
      return "ack";
    });
    // The redelivery arrives while the first message is still on its way to Telegram.
    const second = await claimOnce(claims, "event-1", () => {
      told.push("second");
      return Promise.resolve<Settle>("ack");
    });
    release();
    expect([await first, second]).toEqual(["ack", "ack"]);
    expect(told).toEqual(["first"]);
  });

  it("gives the claim back when the message could not go out, or the telling threw", async () => {
    const claims = new BoundedSet<string>(10, 60_000);
    let calls = 0;
    const tell = (outcome: Settle) => () => {
      calls++;
      return Promise.resolve(outcome);
    };
    expect(await claimOnce(claims, "event-2", tell("retry"))).toBe("retry");
    await expect(
      claimOnce(claims, "event-2", () => Promise.reject(new Error("queue closed"))),
    ).rejects.toThrow("queue closed");
    expect(await claimOnce(claims, "event-2", tell("ack"))).toBe("ack");
    expect(await claimOnce(claims, "event-2", tell("ack"))).toBe("ack");
    expect(calls).toBe(2);
  });
});
