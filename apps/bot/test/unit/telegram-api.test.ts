// The telegraf-backed TelegramApi and the send queue against the Telegram fake: real HTTP, real
// telegraf errors, real 429s and 5xx from the fake.
import { createTestPng, type FakeTelegram, startFakeTelegram } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedactor, describeError } from "../../src/telegram/redact.js";
import { SendQueue } from "../../src/telegram/send-queue.js";
import { createTelegramApi } from "../../src/telegram/telegram-api.js";
import { connectTelegraf } from "../../src/telegram/transport.js";
import { TelegramCallError, type TelegramApi } from "../../src/telegram/types.js";

const TOKEN = "424242:TEST-secret-part-0123456789";
const redact = createRedactor([TOKEN]);
let fake: FakeTelegram;
let api: TelegramApi;

beforeAll(async () => {
  fake = await startFakeTelegram({ token: TOKEN });
  const { telegraf } = await connectTelegraf(TOKEN, fake.apiRoot);
  api = createTelegramApi({ telegram: telegraf.telegram, apiRoot: fake.apiRoot, token: TOKEN, redact });
});
afterAll(async () => {
  await fake?.close();
});

describe("TelegramApi over telegraf", () => {
  it("sends text with a keyboard and photos with their exact bytes", async () => {
    fake.user({ id: 501, first_name: "Ann" });
    const png = createTestPng({ width: 8, height: 8 });
    await api.send({
      kind: "text",
      chatId: 501,
      text: "hello",
      keyboard: [[{ text: "Go", callbackData: "go" }], [{ text: "Pay", url: "https://pay.example/1" }]],
    });
    const { messageId } = await api.send({
      kind: "photo",
      chatId: 501,
      photo: png,
      fileName: "r.png",
      caption: "done",
    });
    const [text, photo] = fake.sentMessages(501);
    expect(text?.reply_markup?.inline_keyboard).toEqual([
      [{ text: "Go", callback_data: "go" }],
      [{ text: "Pay", url: "https://pay.example/1" }],
    ]);
    expect(photo?.message_id).toBe(messageId);
    expect(photo?.caption).toBe("done");
    expect(photo === undefined ? undefined : new Uint8Array(fake.mediaBytes(photo))).toEqual(
      new Uint8Array(png),
    );
  });

  it("downloads what a user sent, and refuses more than the limit", async () => {
    const png = createTestPng({ width: 40, height: 30 });
    const message = fake.sendPhoto({ id: 502, first_name: "Bo" }, png);
    const largest = message.photo?.at(-1);
    if (largest === undefined) throw new Error("no photo");
    const file = await api.getFile(largest.file_id);
    expect(await api.download(file.filePath, 10 * 1024 * 1024)).toEqual(new Uint8Array(png));
    const refused = await api.download(file.filePath, 10).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TelegramCallError);
    expect((refused as TelegramCallError).failure.kind).toBe("too_large");
  });

  it("classifies 429, 403, 400 and 5xx", async () => {
    fake.user({ id: 503, first_name: "Cy" });
    const kinds: string[] = [];
    for (const failure of [
      { type: "tooManyRequests", retryAfterS: 2 },
      { type: "blocked" },
      { type: "error", errorCode: 400, description: "Bad Request: chat not found" },
      { type: "serverError", status: 502, html: true },
    ] as const) {
      fake.failNext("sendMessage", failure);
      const error = await api.send({ kind: "text", chatId: 503, text: "x" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TelegramCallError);
      const { failure: got } = error as TelegramCallError;
      kinds.push(got.kind === "rate_limited" ? `rate_limited:${got.retryAfterMs}` : got.kind);
    }
    expect(kinds).toEqual(["rate_limited:2000", "forbidden", "rejected", "transient"]);
  });

  it("never lets the token out in an error, even from a transport failure", async () => {
    const { telegraf } = await connectTelegraf(TOKEN, fake.apiRoot);
    const dead = createTelegramApi({
      telegram: telegraf.telegram,
      apiRoot: "http://127.0.0.1:9",
      token: TOKEN,
      redact,
    });
    // telegraf's own client still points at the fake: drop the connection there instead.
    fake.failNext("sendMessage", { type: "drop", applied: false });
    const dropped = await api.send({ kind: "text", chatId: 503, text: "x" }).catch((e: unknown) => e);
    const refused = await dead.download("photos/file_1.png", 100).catch((e: unknown) => e);
    for (const error of [dropped, refused]) {
      expect(error).toBeInstanceOf(TelegramCallError);
      expect((error as TelegramCallError).failure.kind).toBe("transient");
      const logged = JSON.stringify(describeError(error, redact));
      expect(logged).not.toContain(TOKEN);
      expect(logged).not.toContain("TEST-secret-part");
    }
    // What the unredacted message would have carried:
    expect(redact(`request to ${fake.apiRoot}/bot${TOKEN}/sendMessage failed`)).toBe(
      `request to ${fake.apiRoot}/bot[redacted]/sendMessage failed`,
    );
  });

  it("with the send queue, a 429 and 5xx storm still delivers every message, in order per chat", async () => {
    const chats = [601, 602, 603];
    for (const id of chats) fake.user({ id, first_name: `U${id}` });
    const queue = new SendQueue({
      api,
      chatIntervalMs: 0,
      chatBurst: 5,
      globalPerSecond: 1_000,
      queueMax: 1_000,
      maxAttempts: 5,
      maxWaitMs: 60_000,
      log: { warn: () => undefined, error: () => undefined },
    });
    fake.storm("sendMessage", { type: "tooManyRequests", retryAfterS: 0.05 }, { every: 2 });
    fake.failNext("sendMessage", { type: "serverError", status: 502 }, { times: 3 });
    const results = chats.flatMap((chat) =>
      Array.from({ length: 8 }, (_, i) =>
        queue.enqueue({ kind: "text", chatId: chat, text: `${chat}-${i}` }),
      ),
    );
    const settled = await Promise.all(results);
    fake.stopStorms();
    expect(settled.filter((r) => r.status !== "sent")).toEqual([]);
    for (const chat of chats) {
      expect(fake.sentMessages(chat).map((m) => m.text)).toEqual(
        Array.from({ length: 8 }, (_, i) => `${chat}-${i}`),
      );
    }
    expect(
      fake.calls("sendMessage").filter((c) => c.response?.ok === false && c.response.error_code === 429)
        .length,
    ).toBeGreaterThan(5);
    await queue.close(1_000);
  });
});
