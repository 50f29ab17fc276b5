import { Code, ConnectError } from "@billing/client";
import { describe, expect, it } from "vitest";
import { repeatable } from "../../src/idempotent.js";

describe("repeatable billing calls", () => {
  it("repeats a call whose outcome is unknown (deadline, unavailable) a bounded number of times", async () => {
    let calls = 0;
    const answer = await repeatable(() => {
      calls++;
      if (calls === 1) return Promise.reject(new ConnectError("timed out", Code.DeadlineExceeded));
      if (calls === 2) return Promise.reject(new ConnectError("down", Code.Unavailable));
      return Promise.resolve("hold-1");
    });
    expect(answer).toBe("hold-1");
    expect(calls).toBe(3);

    let forever = 0;
    await expect(
      repeatable(() => {
        forever++;
        return Promise.reject(new ConnectError("timed out", Code.DeadlineExceeded));
      }),
    ).rejects.toThrow(/timed out/);
    expect(forever).toBe(3);
  });

  it("never repeats a refusal (insufficient funds, bad input)", async () => {
    let calls = 0;
    await expect(
      repeatable(() => {
        calls++;
        return Promise.reject(new ConnectError("no money", Code.FailedPrecondition));
      }),
    ).rejects.toThrow(/no money/);
    expect(calls).toBe(1);
  });
});
