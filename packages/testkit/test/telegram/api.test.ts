// The Bot API surface over raw HTTP: envelope, encodings, validation and update queue semantics.
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import type { FakeTelegram, TgFile, TgMessage, TgUpdate, TgWebhookInfo } from "../../src/index.js";
import { ALICE, BOB, TOKEN, rawCall, resultOf, startFake } from "./helpers.js";

let fake: FakeTelegram;
beforeEach(async () => {
  fake = await startFake({ firstUpdateId: 500 });
});
afterEach(async () => {
  await fake.close();
});

describe("envelope and routing", () => {
  it("answers getMe with the bot's username, in the {ok, result} envelope", async () => {
    const { status, body } = await rawCall(fake, "getMe");
    expect(status).toBe(200);
    expect(body).toEqual({
      ok: true,
      result: expect.objectContaining({ id: 123456789, is_bot: true, username: "pix_test_bot" }) as unknown,
    });
  });

  it("refuses a wrong token with 401 and an unknown method with 404, HTTP status = error_code", async () => {
    expect(await rawCall(fake, "getMe", {}, "123456789:wrong")).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: "Unauthorized" },
    });
    expect(await rawCall(fake, "sendMagic")).toEqual({
      status: 404,
      body: { ok: false, error_code: 404, description: "Not Found" },
    });
    const res = await fetch(`${fake.apiRoot}/nothing-here`);
    expect(res.status).toBe(404);
    expect(fake.calls().map((c) => c.response?.ok)).toEqual([false, false]);
  });

  it("accepts GET with a query string, urlencoded bodies and case-insensitive method names", async () => {
    fake.user(ALICE);
    const viaGet = await fetch(`${fake.apiRoot}/bot${TOKEN}/sendmessage?chat_id=${ALICE.id}&text=hi%20there`);
    expect(viaGet.status).toBe(200);
    const form = await fetch(`${fake.apiRoot}/bot${TOKEN}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        chat_id: String(ALICE.id),
        text: "second",
        reply_markup: JSON.stringify({ inline_keyboard: [[{ text: "Go", callback_data: "go" }]] }),
      }),
    });
    const second = resultOf<TgMessage>((await form.json()) as never);
    expect(fake.sentMessages(ALICE.id).map((m) => m.text)).toEqual(["hi there", "second"]);
    expect(second.reply_markup).toEqual({ inline_keyboard: [[{ text: "Go", callback_data: "go" }]] });
    const calls = fake.calls("sendMessage");
    expect(calls.map((c) => [c.method, c.httpMethod, c.params["chat_id"]])).toEqual([
      ["sendMessage", "GET", ALICE.id],
      ["sendMessage", "POST", ALICE.id],
    ]);
  });

  it("numbers messages per chat and stamps date, chat and from (the bot)", async () => {
    fake.user(ALICE);
    fake.user(BOB);
    fake.sendText(ALICE, "hello"); // message 1 in Alice's chat is hers
    const a = resultOf<TgMessage>(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "a" })).body,
    );
    const b = resultOf<TgMessage>((await rawCall(fake, "sendMessage", { chat_id: BOB.id, text: "b" })).body);
    const a2 = resultOf<TgMessage>(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "a2" })).body,
    );
    expect([a.message_id, b.message_id, a2.message_id]).toEqual([2, 1, 3]);
    expect(a.from).toEqual({
      id: 123456789,
      is_bot: true,
      first_name: "Billing Test Bot",
      username: "pix_test_bot",
    });
    expect(a.chat).toEqual({ id: ALICE.id, type: "private", first_name: "Alice", username: "alice" });
    expect(Math.abs(a.date - Date.now() / 1000)).toBeLessThan(5);
  });

  it("refuses bodies above maxBodyBytes with 413", async () => {
    const small = await startFake({ maxBodyBytes: 1_000 });
    try {
      const { status, body } = await rawCall(small, "sendMessage", { chat_id: 1, text: "x".repeat(2_000) });
      expect(status).toBe(413);
      expect(body).toEqual({ ok: false, error_code: 413, description: "Request Entity Too Large" });
    } finally {
      await small.close();
    }
  });
});

describe("sendMessage validation", () => {
  beforeEach(() => {
    fake.user(ALICE);
  });

  it("refuses unknown chats, empty and too long texts", async () => {
    expect((await rawCall(fake, "sendMessage", { chat_id: 999, text: "x" })).body).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: chat not found",
    });
    expect((await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "" })).body).toMatchObject({
      description: "Bad Request: message text is empty",
    });
    expect(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "я".repeat(4097) })).body,
    ).toMatchObject({
      error_code: 400,
      description: "Bad Request: message is too long",
    });
    expect((await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "я".repeat(4096) })).status).toBe(
      200,
    );
    expect(fake.sentMessages(ALICE.id)).toHaveLength(1);
  });

  it("counts the limit after parse_mode markup is removed", async () => {
    const text = `<b>${"x".repeat(4090)}</b>`; // 4097 characters of source, 4090 of text
    const sent = resultOf<TgMessage>(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text, parse_mode: "HTML" })).body,
    );
    expect(sent.text).toHaveLength(4090);
    expect(sent.entities).toEqual([{ type: "bold", offset: 0, length: 4090 }]);
  });

  it("parses HTML and MarkdownV2 into entities and refuses what Telegram refuses", async () => {
    const html = resultOf<TgMessage>(
      (
        await rawCall(fake, "sendMessage", {
          chat_id: ALICE.id,
          text: 'Баланс: <b>120</b> &lt;кредитов&gt; <a href="https://t.me/x">пополнить</a>',
          parse_mode: "HTML",
        })
      ).body,
    );
    expect(html.text).toBe("Баланс: 120 <кредитов> пополнить");
    expect(html.entities).toEqual([
      { type: "bold", offset: 8, length: 3 },
      { type: "text_link", offset: 23, length: 9, url: "https://t.me/x" },
    ]);
    const md = resultOf<TgMessage>(
      (
        await rawCall(fake, "sendMessage", {
          chat_id: ALICE.id,
          text: "*Итого:* 10\\.00 ₽ /help",
          parse_mode: "MarkdownV2",
        })
      ).body,
    );
    expect(md.text).toBe("Итого: 10.00 ₽ /help");
    expect(md.entities).toEqual([
      { type: "bold", offset: 0, length: 6 },
      { type: "bot_command", offset: 15, length: 5 },
    ]);
    expect(
      (
        await rawCall(fake, "sendMessage", {
          chat_id: ALICE.id,
          text: "Цена 10.00",
          parse_mode: "MarkdownV2",
        })
      ).body,
    ).toEqual({
      ok: false,
      error_code: 400,
      description:
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    });
    expect(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "<div>x</div>", parse_mode: "HTML" }))
        .body,
    ).toMatchObject({
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "div" at byte offset 0',
    });
    expect(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "*open", parse_mode: "MarkdownV2" }))
        .body,
    ).toMatchObject({
      description: "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
    });
  });

  it("validates inline keyboards: callback_data 1–64 bytes, a button needs an action", async () => {
    const send = async (button: Record<string, unknown>) =>
      (
        await rawCall(fake, "sendMessage", {
          chat_id: ALICE.id,
          text: "k",
          reply_markup: { inline_keyboard: [[button]] },
        })
      ).body;
    expect(await send({ text: "ok", callback_data: "ы".repeat(32) })).toMatchObject({ ok: true }); // 64 bytes
    expect(await send({ text: "long", callback_data: "ы".repeat(33) })).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: BUTTON_DATA_INVALID",
    });
    expect(await send({ text: "bare" })).toMatchObject({
      description:
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    });
    expect(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "k", reply_markup: "{nope" })).body,
    ).toMatchObject({
      description: "Bad Request: can't parse reply keyboard markup JSON object",
    });
    expect(fake.sentMessages(ALICE.id)).toHaveLength(1);
  });

  it("keeps reply keyboards per chat (not in Message) until remove_keyboard", async () => {
    const sent = resultOf<TgMessage>(
      (
        await rawCall(fake, "sendMessage", {
          chat_id: ALICE.id,
          text: "menu",
          reply_markup: { keyboard: [["Generate", { text: "Balance" }]], resize_keyboard: true },
        })
      ).body,
    );
    expect(sent.reply_markup).toBeUndefined();
    expect(fake.replyKeyboard(ALICE.id)).toEqual({
      keyboard: [[{ text: "Generate" }, { text: "Balance" }]],
      resize_keyboard: true,
    });
    await rawCall(fake, "sendMessage", {
      chat_id: ALICE.id,
      text: "bye",
      reply_markup: { remove_keyboard: true },
    });
    expect(fake.replyKeyboard(ALICE.id)).toBeNull();
  });
});

describe("editing, deleting, callback answers", () => {
  beforeEach(() => {
    fake.user(ALICE);
  });
  const keyboard = { inline_keyboard: [[{ text: "Pay", callback_data: "pay:100" }]] };

  it("edits text, refuses an unchanged edit, and drops the keyboard when reply_markup is omitted", async () => {
    const sent = resultOf<TgMessage>(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "v1", reply_markup: keyboard })).body,
    );
    const same = await rawCall(fake, "editMessageText", {
      chat_id: ALICE.id,
      message_id: sent.message_id,
      text: "v1",
      reply_markup: keyboard,
    });
    expect(same.status).toBe(400);
    expect(same.body).toMatchObject({
      description: expect.stringMatching(/^Bad Request: message is not modified/) as unknown,
    });
    const edited = resultOf<TgMessage>(
      (await rawCall(fake, "editMessageText", { chat_id: ALICE.id, message_id: sent.message_id, text: "v2" }))
        .body,
    );
    expect(edited).toMatchObject({ message_id: sent.message_id, text: "v2" });
    expect(edited.reply_markup).toBeUndefined();
    expect(edited.edit_date).toBeTypeOf("number");
    const stored = fake.message(ALICE.id, sent.message_id);
    expect(stored?.previousVersions.map((m) => m.text)).toEqual(["v1"]);
    expect(
      (await rawCall(fake, "editMessageText", { chat_id: ALICE.id, message_id: 77, text: "x" })).body,
    ).toMatchObject({
      description: "Bad Request: message to edit not found",
    });
    const own = fake.sendText(ALICE, "mine");
    expect(
      (await rawCall(fake, "editMessageText", { chat_id: ALICE.id, message_id: own.message_id, text: "x" }))
        .body,
    ).toMatchObject({
      description: "Bad Request: message can't be edited",
    });
  });

  it("edits and removes reply markup with the same not-modified rule", async () => {
    const sent = resultOf<TgMessage>(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "t", reply_markup: keyboard })).body,
    );
    const params = { chat_id: ALICE.id, message_id: sent.message_id };
    expect(
      (await rawCall(fake, "editMessageReplyMarkup", { ...params, reply_markup: keyboard })).status,
    ).toBe(400);
    expect((await rawCall(fake, "editMessageReplyMarkup", params)).status).toBe(200);
    expect(fake.sentMessages(ALICE.id)[0]?.reply_markup).toBeUndefined();
    expect((await rawCall(fake, "editMessageReplyMarkup", params)).status).toBe(400);
  });

  it("deletes a message once", async () => {
    const sent = resultOf<TgMessage>(
      (await rawCall(fake, "sendMessage", { chat_id: ALICE.id, text: "t" })).body,
    );
    expect(
      (await rawCall(fake, "deleteMessage", { chat_id: ALICE.id, message_id: sent.message_id })).body,
    ).toEqual({ ok: true, result: true });
    expect(
      (await rawCall(fake, "deleteMessage", { chat_id: ALICE.id, message_id: sent.message_id })).body,
    ).toMatchObject({
      description: "Bad Request: message to delete not found",
    });
    expect(fake.sentMessages(ALICE.id)).toEqual([]);
    expect(fake.chatMessages(ALICE.id).map((m) => m.deleted)).toEqual([true]);
  });

  it("answers a callback query once and only within callbackQueryTtlMs", async () => {
    let nowMs = 1_700_000_000_000;
    const quick = await startFake({ clock: () => nowMs });
    try {
      quick.user(ALICE);
      const sent = resultOf<TgMessage>(
        (await rawCall(quick, "sendMessage", { chat_id: ALICE.id, text: "t", reply_markup: keyboard })).body,
      );
      const first = quick.pressButton(ALICE, sent, "pay:100");
      expect(first.message.message_id).toBe(sent.message_id);
      const answer = { callback_query_id: first.id, text: "Оплата…" };
      expect((await rawCall(quick, "answerCallbackQuery", answer)).body).toEqual({ ok: true, result: true });
      const tooOld = "Bad Request: query is too old and response timeout expired or query ID is invalid";
      expect((await rawCall(quick, "answerCallbackQuery", answer)).body).toMatchObject({
        description: tooOld,
      });
      expect(quick.callbackAnswer(first.id)).toMatchObject({ text: "Оплата…", show_alert: false });
      const late = quick.pressButton(ALICE, sent, "pay:100");
      nowMs += 15_001; // the default callbackQueryTtlMs is 15 s
      expect(
        (await rawCall(quick, "answerCallbackQuery", { callback_query_id: late.id })).body,
      ).toMatchObject({ error_code: 400, description: tooOld });
      expect(() => quick.pressButton(ALICE, sent, "pay:999")).toThrow(/no button with callback_data/);
    } finally {
      await quick.close();
    }
  });
});

describe("getUpdates", () => {
  it("forgets updates below the confirmed offset, honours limit and negative offsets", async () => {
    for (const text of ["a", "b", "c", "d"]) fake.sendText(ALICE, text);
    const all = resultOf<TgUpdate[]>((await rawCall(fake, "getUpdates")).body);
    expect(all.map((u) => [u.update_id, u.message?.text])).toEqual([
      [500, "a"],
      [501, "b"],
      [502, "c"],
      [503, "d"],
    ]);
    // Not confirmed yet: the same updates come again.
    expect(
      resultOf<TgUpdate[]>((await rawCall(fake, "getUpdates", { limit: 2 })).body).map((u) => u.update_id),
    ).toEqual([500, 501]);
    expect(
      resultOf<TgUpdate[]>((await rawCall(fake, "getUpdates", { offset: 502 })).body).map((u) => u.update_id),
    ).toEqual([502, 503]);
    expect(fake.pendingUpdateCount()).toBe(2);
    expect(
      resultOf<TgUpdate[]>((await rawCall(fake, "getUpdates", { offset: -1 })).body).map((u) => u.update_id),
    ).toEqual([503]);
    expect(resultOf<TgUpdate[]>((await rawCall(fake, "getUpdates", { offset: 504 })).body)).toEqual([]);
  });

  it("long-polls until an update arrives", async () => {
    const started = Date.now();
    const pending = rawCall(fake, "getUpdates", { timeout: 5 });
    await fake.waitFor(() => fake.isPolling());
    fake.sendText(ALICE, "/start ref_42");
    const updates = resultOf<TgUpdate[]>((await pending).body);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(updates[0]?.message?.entities).toEqual([{ type: "bot_command", offset: 0, length: 6 }]);
    expect(updates[0]?.message?.from).toEqual({
      id: 1001,
      is_bot: false,
      first_name: "Alice",
      username: "alice",
      language_code: "ru",
    });
  });

  it("returns an empty list when the poll times out", async () => {
    const started = Date.now();
    expect((await rawCall(fake, "getUpdates", { timeout: 0.2 })).body).toEqual({ ok: true, result: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("terminates the waiting poll with 409 when a second poller arrives", async () => {
    const first = rawCall(fake, "getUpdates", { timeout: 5 });
    await fake.waitFor(() => fake.isPolling());
    const second = rawCall(fake, "getUpdates", { timeout: 0.3 });
    expect(await first).toEqual({
      status: 409,
      body: {
        ok: false,
        error_code: 409,
        description:
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      },
    });
    expect((await second).status).toBe(200);
  });

  it("creates only the allowed update types", async () => {
    await rawCall(fake, "getUpdates", { allowed_updates: ["callback_query"] });
    fake.sendText(ALICE, "ignored");
    expect(fake.pendingUpdateCount()).toBe(0);
    await rawCall(fake, "getUpdates", { allowed_updates: [] });
    fake.sendText(ALICE, "kept");
    expect(fake.pendingUpdateCount()).toBe(1);
  });

  it("refuses getUpdates while a webhook is set; setWebhook needs https; deleteWebhook can drop updates", async () => {
    expect((await rawCall(fake, "setWebhook", { url: "http://bot.example/hook" })).body).toMatchObject({
      description: "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    });
    // Unreachable on purpose: the update stays pending while deliveries fail.
    const slow = await startFake({ webhookRetryDelaysMs: [5_000] });
    try {
      expect((await rawCall(slow, "setWebhook", { url: "https://127.0.0.1:1/hook" })).body).toEqual({
        ok: true,
        result: true,
        description: "Webhook was set",
      });
      expect((await rawCall(slow, "getUpdates")).body).toEqual({
        ok: false,
        error_code: 409,
        description:
          "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      });
      slow.sendText(ALICE, "queued");
      const info = await slow.waitFor(
        () => slow.webhookInfo().last_error_message !== undefined && slow.webhookInfo(),
      );
      expect(info).toMatchObject({ url: "https://127.0.0.1:1/hook", pending_update_count: 1 });
      expect((await rawCall(slow, "deleteWebhook", { drop_pending_updates: true })).body).toEqual({
        ok: true,
        result: true,
        description: "Webhook was deleted",
      });
      expect(resultOf<TgWebhookInfo>((await rawCall(slow, "getWebhookInfo")).body)).toEqual({
        url: "",
        has_custom_certificate: false,
        pending_update_count: 0,
      });
    } finally {
      await slow.close();
    }
  });
});

describe("files", () => {
  it("serves getFile paths and bytes, and refuses unknown ids and tokens", async () => {
    const doc = fake.sendDocument(ALICE, Buffer.from("%PDF-1.4 fake"), {
      fileName: "brief.pdf",
      mimeType: "application/pdf",
    });
    const fileId = doc.document?.file_id ?? "";
    const file = resultOf<TgFile>((await rawCall(fake, "getFile", { file_id: fileId })).body);
    expect(file).toMatchObject({
      file_id: fileId,
      file_size: 13,
      file_path: expect.stringMatching(/^documents\/file_\d+\.pdf$/) as unknown,
    });
    const res = await fetch(`${fake.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe("%PDF-1.4 fake");
    expect((await fetch(`${fake.apiRoot}/file/bot${TOKEN}/documents/nope.pdf`)).status).toBe(404);
    expect((await fetch(`${fake.apiRoot}/file/bot1:bad/${file.file_path}`)).status).toBe(401);
    expect((await rawCall(fake, "getFile", { file_id: "nope" })).body).toMatchObject({
      description: "Bad Request: invalid file_id",
    });
  });
});

describe("flood limits", () => {
  it("answers 429 with retry_after above the per-chat rate, when enabled", async () => {
    let nowMs = 1_700_000_000_000;
    const clocked = await startFake({
      clock: () => nowMs,
      floodLimits: { perChat: 2, global: 3, windowMs: 200 },
    });
    onTestFinished(() => clocked.close());
    clocked.user(ALICE);
    clocked.user(BOB);
    const send = async (chatId: number) =>
      (await rawCall(clocked, "sendMessage", { chat_id: chatId, text: "x" })).body;
    expect(await send(ALICE.id)).toMatchObject({ ok: true });
    expect(await send(ALICE.id)).toMatchObject({ ok: true });
    const limited = await send(ALICE.id);
    expect(limited).toMatchObject({
      ok: false,
      error_code: 429,
      parameters: { retry_after: expect.any(Number) as unknown },
    });
    if (limited.ok) throw new Error("unreachable");
    expect(limited.parameters?.retry_after).toBe(0.2);
    expect(limited.description).toBe(`Too Many Requests: retry after ${limited.parameters?.retry_after}`);
    expect(await send(BOB.id)).toMatchObject({ ok: true }); // another chat, global 3/window
    expect(await send(BOB.id)).toMatchObject({ error_code: 429 }); // global limit now
    nowMs += 150;
    expect(await send(ALICE.id)).toMatchObject({ parameters: { retry_after: 0.05 } });
    nowMs += 50;
    expect(await send(ALICE.id)).toMatchObject({ ok: true });
    clocked.setFloodLimits(true); // Telegram's limits: whole seconds
    expect(await send(ALICE.id)).toMatchObject({ ok: true });
    expect(await send(ALICE.id)).toMatchObject({ error_code: 429, parameters: { retry_after: 1 } });
    clocked.setFloodLimits(false);
    for (let i = 0; i < 5; i++) expect(await send(BOB.id)).toMatchObject({ ok: true });
  });
});
