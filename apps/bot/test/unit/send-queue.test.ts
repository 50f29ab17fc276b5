import { describe, expect, it } from "vitest";
import { type DropReason, SendQueue, type SendQueueOptions } from "../../src/telegram/send-queue.js";
import { type Outgoing, TelegramCallError, type TelegramFailure } from "../../src/telegram/types.js";

const quietLog = { warn: () => undefined, error: () => undefined };

/** A scripted Telegram: `fail(call)` decides each call's fate; delivered texts are recorded per chat. */
function scriptedApi(fail: (call: number, message: Outgoing) => TelegramFailure | undefined) {
  const delivered = new Map<number, string[]>();
  const times: number[] = [];
  let calls = 0;
  let nextId = 1;
  return {
    delivered,
    times,
    get calls() {
      return calls;
    },
    api: {
      send(message: Outgoing) {
        calls++;
        const failure = fail(calls, message);
        if (failure !== undefined)
          return Promise.reject(new TelegramCallError("sendMessage", failure, "scripted"));
        times.push(Date.now());
        const text =
          message.kind === "text"
            ? message.text
            : message.kind === "photo"
              ? (message.caption ?? "")
              : message.title;
        delivered.set(message.chatId, [...(delivered.get(message.chatId) ?? []), text]);
        return Promise.resolve({ messageId: nextId++ });
      },
    },
  };
}

function queue(api: SendQueueOptions["api"], overrides: Partial<SendQueueOptions> = {}) {
  const counted = { rateLimited: 0, retried: 0, dropped: [] as DropReason[], sent: 0 };
  const q = new SendQueue({
    api,
    chatIntervalMs: 0,
    chatBurst: 1,
    globalPerSecond: 1_000,
    queueMax: 1_000,
    maxAttempts: 3,
    maxWaitMs: 60_000,
    log: quietLog,
    hooks: {
      sent: () => counted.sent++,
      rateLimited: () => counted.rateLimited++,
      retried: () => counted.retried++,
      dropped: (reason) => counted.dropped.push(reason),
    },
    ...overrides,
  });
  return { q, counted };
}

const text = (chatId: number, value: string): Outgoing => ({ kind: "text", chatId, text: value });

describe("send queue", () => {
  it("retries after 429's retry_after and keeps each chat's order", async () => {
    // Every third call is rate limited for 30 ms.
    const tg = scriptedApi((call) =>
      call % 3 === 0 ? { kind: "rate_limited", retryAfterMs: 30 } : undefined,
    );
    const { q, counted } = queue(tg.api);
    const results = [];
    for (let i = 1; i <= 10; i++) {
      for (const chat of [1, 2, 3]) results.push(q.enqueue(text(chat, `${chat}:${i}`)));
    }
    const settled = await Promise.all(results);
    expect(settled.every((r) => r.status === "sent")).toBe(true);
    for (const chat of [1, 2, 3]) {
      expect(tg.delivered.get(chat)).toEqual(Array.from({ length: 10 }, (_, i) => `${chat}:${i + 1}`));
    }
    expect(counted.rateLimited).toBeGreaterThanOrEqual(10);
    expect(counted.sent).toBe(30);
    expect(q.depth).toBe(0);
  });

  it("paces one chat as Telegram counts: at most chatBurst sends in any chatIntervalMs", async () => {
    const tg = scriptedApi(() => undefined);
    const { q } = queue(tg.api, { chatIntervalMs: 40, chatBurst: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => q.enqueue(text(7, String(i)))));
    // The burst goes at once; every later send waits until the window holds fewer than two.
    const windows = tg.times.slice(2).map((t, i) => t - (tg.times[i] ?? t));
    expect(windows.every((span) => span >= 39)).toBe(true);
    expect((tg.times.at(-1) ?? 0) - (tg.times[0] ?? 0)).toBeGreaterThanOrEqual(78);
  });

  it("holds the whole bot to the global rate", async () => {
    const tg = scriptedApi(() => undefined);
    const { q } = queue(tg.api, { globalPerSecond: 100 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 150 }, (_, i) => q.enqueue(text(1000 + i, "x"))));
    // 100 at once (the bucket), the other 50 at 100/s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it("retries 5xx a bounded number of times, then drops the message and goes on", async () => {
    const tg = scriptedApi((_, message) =>
      message.kind === "text" && message.text === "doomed" ? { kind: "transient", status: 502 } : undefined,
    );
    const { q, counted } = queue(tg.api, { maxAttempts: 3 });
    const doomed = q.enqueue(text(1, "doomed"));
    const after = q.enqueue(text(1, "after"));
    expect(await doomed).toEqual({ status: "dropped", reason: "gave_up" });
    expect(await after).toMatchObject({ status: "sent" });
    expect(tg.calls).toBe(4);
    expect(counted.retried).toBe(2);
  });

  it("drops a blocked user's messages (403) without touching other chats", async () => {
    const tg = scriptedApi((_, message) => (message.chatId === 1 ? { kind: "forbidden" } : undefined));
    const { q, counted } = queue(tg.api);
    const results = await Promise.all([
      q.enqueue(text(1, "a")),
      q.enqueue(text(1, "b")),
      q.enqueue(text(2, "c")),
    ]);
    expect(results.map((r) => (r.status === "sent" ? "sent" : r.reason))).toEqual([
      "blocked",
      "blocked",
      "sent",
    ]);
    expect(tg.calls).toBe(2);
    expect(counted.dropped).toEqual(["blocked", "blocked"]);
  });

  it("drops a message Telegram refuses (400) and sends the next", async () => {
    const tg = scriptedApi((call) => (call === 1 ? { kind: "rejected", status: 400 } : undefined));
    const { q } = queue(tg.api);
    const results = await Promise.all([q.enqueue(text(1, "bad")), q.enqueue(text(1, "good"))]);
    expect(results[0]).toEqual({ status: "dropped", reason: "rejected" });
    expect(tg.delivered.get(1)).toEqual(["good"]);
  });

  it("gives up on a message rate limited beyond maxWaitMs", async () => {
    const tg = scriptedApi(() => ({ kind: "rate_limited", retryAfterMs: 50 }));
    const { q } = queue(tg.api, { maxWaitMs: 120 });
    expect(await q.enqueue(text(1, "x"))).toEqual({ status: "dropped", reason: "gave_up" });
  });

  it("is bounded", async () => {
    const tg = scriptedApi(() => ({ kind: "rate_limited", retryAfterMs: 10_000 }));
    const { q } = queue(tg.api, { queueMax: 3 });
    const pending = [q.enqueue(text(1, "1")), q.enqueue(text(2, "2")), q.enqueue(text(3, "3"))];
    expect(await q.enqueue(text(4, "4"))).toEqual({ status: "dropped", reason: "queue_full" });
    expect(await q.close(50)).toBe(false);
    expect(await Promise.all(pending)).toEqual(Array(3).fill({ status: "dropped", reason: "shutdown" }));
    expect(await q.enqueue(text(5, "5"))).toEqual({ status: "dropped", reason: "shutdown" });
  });

  it("drains on close when it can", async () => {
    const tg = scriptedApi((call) => (call === 1 ? { kind: "rate_limited", retryAfterMs: 50 } : undefined));
    const { q } = queue(tg.api);
    const pending = [q.enqueue(text(1, "1")), q.enqueue(text(1, "2"))];
    expect(await q.close(2_000)).toBe(true);
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(tg.delivered.get(1)).toEqual(["1", "2"]);
  });
});

describe("send queue priorities and Telegram's windows", () => {
  it("sends a chat's high message (a result) before other chats' normal ones, keeping each chat's order", async () => {
    const tg = scriptedApi(() => undefined);
    // One message per 100 ms overall: the order of service is visible.
    const { q } = queue(tg.api, { globalPerSecond: 10 });
    const order: string[] = [];
    const track = (promise: Promise<unknown>, label: string) => promise.then(() => order.push(label));
    const pending = [];
    for (let chat = 1; chat <= 12; chat++) pending.push(track(q.enqueue(text(chat, "menu")), `menu:${chat}`));
    pending.push(track(q.enqueue(text(99, "result"), "high"), "result:99"));
    await Promise.all(pending);
    // The first ten went at once (the window was empty); the result went before the rest of the menus.
    expect(order.indexOf("result:99")).toBeLessThan(order.indexOf("menu:11"));
    expect(order.indexOf("result:99")).toBeLessThan(order.indexOf("menu:12"));
    expect(tg.delivered.get(99)).toEqual(["result"]);
  });

  it("never has more than globalPerSecond sends in any second", async () => {
    const tg = scriptedApi(() => undefined);
    const { q } = queue(tg.api, { globalPerSecond: 20 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => q.enqueue(text(500 + i, "x"))));
    const times = tg.times;
    for (let i = 20; i < times.length; i++) {
      expect((times[i] ?? 0) - (times[i - 20] ?? 0)).toBeGreaterThanOrEqual(999);
    }
  });
});

describe("send queue pacing across quiet moments", () => {
  it("a chat's next message waits out the window of its last one, even when the queue was empty between", async () => {
    const tg = scriptedApi(() => undefined);
    const { q } = queue(tg.api, { chatIntervalMs: 60, chatBurst: 1 });
    await q.enqueue(text(3, "greeting"));
    // The user answers at once; the bot's reply must not go within 60 ms of the greeting.
    await q.enqueue(text(3, "reply"));
    expect((tg.times[1] ?? 0) - (tg.times[0] ?? 0)).toBeGreaterThanOrEqual(59);
  });
});
