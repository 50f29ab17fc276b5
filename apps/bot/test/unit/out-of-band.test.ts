import { describe, expect, it } from "vitest";
import { OutOfBand } from "../../src/telegram/out-of-band.js";
import { SlidingWindow } from "../../src/telegram/sliding-window.js";

const quiet = { debug: () => undefined };

describe("out-of-band calls", () => {
  it("answers button presses before waiting chat actions, skips actions beyond the backlog, counts failures", async () => {
    const order: string[] = [];
    const outcomes: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const signals = new OutOfBand({
      api: {
        async answerCallback(id) {
          order.push(`answer:${id}`);
          if (id === "bad") throw new Error("query is too old");
        },
        async chatAction(chatId) {
          order.push(`action:${chatId}`);
          if (chatId === 0) await gate;
        },
      },
      concurrency: 1,
      backlogMax: 2,
      onResult: (method, outcome) => outcomes.push(`${method}:${outcome}`),
      log: quiet,
    });
    // Chat 0's action occupies the only slot; two actions wait, a third is skipped.
    const first = signals.chatAction(0, "typing");
    const waiting = [signals.chatAction(1, "typing"), signals.chatAction(2, "typing")];
    await signals.chatAction(3, "typing");
    const answers = [signals.answerCallback("q1"), signals.answerCallback("bad")];
    release();
    await Promise.all([first, ...waiting, ...answers]);
    expect(order).toEqual(["action:0", "answer:q1", "answer:bad", "action:1", "action:2"]);
    expect(outcomes.filter((o) => o === "sendChatAction:skipped")).toHaveLength(1);
    expect(outcomes).toContain("answerCallbackQuery:failed");
  });
});

describe("sliding window", () => {
  it("counts a send from its start until windowMs after its answer", () => {
    const window = new SlidingWindow(2, 1_000);
    expect(window.freeAtMs(0)).toBe(0);
    window.begin();
    window.begin();
    // Both in flight: nothing fits until one is answered.
    expect(window.freeAtMs(10)).toBe(Infinity);
    window.end(100);
    expect(window.freeAtMs(100)).toBe(1_100);
    window.end(300);
    expect(window.freeAtMs(1_050)).toBe(1_100);
    expect(window.freeAtMs(1_100)).toBe(1_100);
  });
});
