// The real telegraf 4.16.3 client, long polling against the fake, unchanged.
import { Input, Markup, TelegramError } from "telegraf";
import { message } from "telegraf/filters";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TgUploadedFile, createTestPng } from "../../src/index.js";
import type { FakeTelegram, TgMessage, TgSuccessfulPayment } from "../../src/index.js";
import { ALICE, BOB, launchPolling, newBot, rawCall, startFake } from "./helpers.js";
import type { RunningBot } from "./helpers.js";

let fake: FakeTelegram;
const running: RunningBot[] = [];
beforeEach(async () => {
  fake = await startFake();
});
afterEach(async () => {
  for (const bot of running.splice(0)) await bot.stop();
  await fake.close();
});

async function launch(bot: ReturnType<typeof newBot>): Promise<RunningBot> {
  const run = await launchPolling(fake, bot);
  running.push(run);
  return run;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe("commands and callback queries", () => {
  it("delivers /start with a bot_command entity at offset 0 and records the reply", async () => {
    const bot = newBot(fake);
    bot.start(async (ctx) => {
      await ctx.reply(`Привет, ${ctx.from.first_name}! payload=${ctx.payload}`);
    });
    await launch(bot);
    const sent = fake.sendText(ALICE, "/start ref_42");
    expect(sent.entities).toEqual([{ type: "bot_command", offset: 0, length: 6 }]);
    const reply = await fake.waitForMessage(ALICE.id);
    expect(reply.text).toBe("Привет, Alice! payload=ref_42");
    expect(reply.message_id).toBe(sent.message_id + 1);
    const call = fake.calls("sendMessage")[0];
    expect(call?.params).toMatchObject({ chat_id: ALICE.id, text: "Привет, Alice! payload=ref_42" });
    expect(call?.response).toMatchObject({ ok: true, result: { message_id: reply.message_id } });
    // telegraf's start-up sequence, as on the real API.
    expect(
      fake
        .calls()
        .map((c) => c.method)
        .slice(0, 2),
    ).toEqual(["getMe", "deleteWebhook"]);
  });

  it("runs a button press: answerCallbackQuery and editMessageText on the pressed message", async () => {
    const bot = newBot(fake);
    bot.start((ctx) =>
      ctx.reply("Пакеты", Markup.inlineKeyboard([[Markup.button.callback("100 ₽", "buy:100")]])),
    );
    bot.action(/^buy:(\d+)$/, async (ctx) => {
      await ctx.answerCbQuery("Создаю платёж…");
      await ctx.editMessageText(`Оплата ${ctx.match[1]} ₽`);
    });
    await launch(bot);
    fake.sendText(BOB, "/start");
    const menu = await fake.waitForMessage(BOB.id, (m) => m.text === "Пакеты");
    expect(menu.reply_markup).toEqual({ inline_keyboard: [[{ text: "100 ₽", callback_data: "buy:100" }]] });
    const query = fake.pressButton(BOB, menu, "buy:100");
    const edited = await fake.waitForMessage(BOB.id, (m) => m.edit_date !== undefined);
    expect(edited).toMatchObject({ message_id: menu.message_id, text: "Оплата 100 ₽" });
    expect(edited.reply_markup).toBeUndefined();
    expect(fake.callbackAnswer(query.id)).toMatchObject({ text: "Создаю платёж…", show_alert: false });
    expect(fake.calls("answerCallbackQuery")[0]?.via).toBe("http");
  });

  it("refuses an unchanged edit with telegraf's TelegramError", async () => {
    const bot = newBot(fake);
    fake.user(ALICE);
    const sent = await bot.telegram.sendMessage(ALICE.id, "same");
    const error = await rejection(bot.telegram.editMessageText(ALICE.id, sent.message_id, undefined, "same"));
    expect(error).toBeInstanceOf(TelegramError);
    expect((error as TelegramError).code).toBe(400);
    expect((error as TelegramError).description).toMatch(/^Bad Request: message is not modified/);
  });
});

describe("files", () => {
  it("lets the bot download a user's photo through getFile and the /file URL, byte-exact", async () => {
    const png = createTestPng({ width: 1000, height: 600, seed: 7 });
    let downloaded: Buffer | undefined;
    const bot = newBot(fake);
    bot.on(message("photo"), async (ctx) => {
      const largest = ctx.message.photo[ctx.message.photo.length - 1];
      if (largest === undefined) throw new Error("no photo sizes");
      const link = await ctx.telegram.getFileLink(largest.file_id);
      downloaded = Buffer.from(await (await fetch(link)).arrayBuffer());
      await ctx.reply(
        `${ctx.message.caption ?? ""}: ${largest.width}x${largest.height}, ${downloaded.length} bytes`,
      );
    });
    await launch(bot);
    const sent = fake.sendPhoto(ALICE, png, { caption: "сделай аниме" });
    expect(sent.photo?.map((p) => [p.width, p.height])).toEqual([
      [90, 54],
      [320, 192],
      [800, 480],
      [1000, 600],
    ]);
    const reply = await fake.waitForMessage(ALICE.id);
    expect(reply.text).toBe(`сделай аниме: 1000x600, ${png.length} bytes`);
    expect(downloaded?.equals(png)).toBe(true);
    expect(fake.calls("getFile")[0]?.response).toMatchObject({
      ok: true,
      result: {
        file_path: expect.stringMatching(/^photos\/file_\d+\.jpg$/) as unknown,
        file_size: png.length,
      },
    });
  });

  it("stores a multipart sendPhoto upload byte-exact, and resends it by file_id", async () => {
    const png = createTestPng({ width: 640, height: 640, seed: 3 });
    const bot = newBot(fake);
    bot.command("img", async (ctx) => {
      const first = await ctx.replyWithPhoto(Input.fromBuffer(png, "result.png"), {
        caption: "<b>Готово</b>",
        parse_mode: "HTML",
        ...Markup.inlineKeyboard([[Markup.button.callback("Ещё", "again")]]),
      });
      const largest = first.photo[first.photo.length - 1];
      if (largest !== undefined) await ctx.replyWithPhoto(largest.file_id);
    });
    await launch(bot);
    fake.sendText(ALICE, "/img");
    await fake.waitFor(() => fake.sentMessages(ALICE.id).length === 2);
    const [first, again] = fake.sentMessages(ALICE.id) as [TgMessage, TgMessage];
    expect(fake.mediaBytes(first).equals(png)).toBe(true);
    expect(first.caption).toBe("Готово");
    expect(first.caption_entities).toEqual([{ type: "bold", offset: 0, length: 6 }]);
    expect(first.reply_markup?.inline_keyboard[0]?.[0]?.callback_data).toBe("again");
    expect(first.photo?.at(-1)).toMatchObject({ width: 640, height: 640, file_size: png.length });
    expect(again.photo).toEqual(first.photo);
    const [upload, byId] = fake.calls("sendPhoto");
    const part = upload?.params["photo"];
    expect(part).toBeInstanceOf(TgUploadedFile);
    expect(part instanceof TgUploadedFile && part.bytes.equals(png) && part.filename).toBe("result.png");
    expect(byId?.params["photo"]).toBe(first.photo?.at(-1)?.file_id);
  });

  it("refuses a photo that is not an image, and a caption over 1024 characters", async () => {
    const bot = newBot(fake);
    fake.user(ALICE);
    const notImage = await rejection(
      bot.telegram.sendPhoto(ALICE.id, Input.fromBuffer(Buffer.from("hello"), "x.jpg")),
    );
    expect((notImage as TelegramError).description).toBe("Bad Request: IMAGE_PROCESS_FAILED");
    const longCaption = await rejection(
      bot.telegram.sendPhoto(ALICE.id, Input.fromBuffer(createTestPng(), "a.png"), {
        caption: "x".repeat(1025),
      }),
    );
    expect((longCaption as TelegramError).description).toBe("Bad Request: message caption is too long");
    const doc = await bot.telegram.sendDocument(
      ALICE.id,
      Input.fromBuffer(Buffer.from("a,b\n1,2\n"), "report.csv"),
    );
    expect(doc.document).toMatchObject({ file_name: "report.csv", mime_type: "text/csv", file_size: 8 });
    expect(fake.fileBytes(doc.document.file_id)?.toString()).toBe("a,b\n1,2\n");
  });
});

describe("errors the bot must handle", () => {
  it("surfaces an injected 429 as TelegramError with parameters.retry_after, then succeeds after waiting", async () => {
    const bot = newBot(fake);
    fake.user(ALICE);
    fake.failNext("sendMessage", { type: "tooManyRequests", retryAfterS: 0.05 }, { chatId: ALICE.id });
    const error = await rejection(bot.telegram.sendMessage(ALICE.id, "hi"));
    expect(error).toBeInstanceOf(TelegramError);
    const tgError = error as TelegramError;
    expect(tgError.code).toBe(429);
    expect(tgError.parameters?.retry_after).toBe(0.05);
    expect(tgError.description).toBe("Too Many Requests: retry after 0.05");
    await new Promise((r) => setTimeout(r, (tgError.parameters?.retry_after ?? 0) * 1000));
    await bot.telegram.sendMessage(ALICE.id, "hi");
    expect(fake.sentMessages(ALICE.id).map((m) => m.text)).toEqual(["hi"]);
    expect(fake.calls("sendMessage").map((c) => [c.injected, c.response?.ok])).toEqual([
      ["tooManyRequests", false],
      [undefined, true],
    ]);
  });

  it("answers 403 for a user who blocked the bot and tells the bot with my_chat_member", async () => {
    const statuses: string[] = [];
    const bot = newBot(fake);
    bot.on("my_chat_member", (ctx) => {
      statuses.push(ctx.myChatMember.new_chat_member.status);
    });
    await launch(bot);
    fake.blockUser(ALICE);
    await fake.waitFor(() => statuses.length === 1);
    expect(statuses).toEqual(["kicked"]);
    const error = await rejection(bot.telegram.sendMessage(ALICE.id, "promo"));
    expect((error as TelegramError).code).toBe(403);
    expect((error as TelegramError).description).toBe("Forbidden: bot was blocked by the user");
    expect(fake.sentMessages(ALICE.id)).toEqual([]);
  });

  it("refuses a message over 4096 characters and callback_data over 64 bytes", async () => {
    const bot = newBot(fake);
    fake.user(ALICE);
    const long = await rejection(bot.telegram.sendMessage(ALICE.id, "x".repeat(4097)));
    expect((long as TelegramError).description).toBe("Bad Request: message is too long");
    const button = await rejection(
      bot.telegram.sendMessage(
        ALICE.id,
        "pick",
        Markup.inlineKeyboard([[Markup.button.callback("b", "x".repeat(65))]]),
      ),
    );
    expect((button as TelegramError).description).toBe("Bad Request: BUTTON_DATA_INVALID");
    expect(fake.sentMessages(ALICE.id)).toEqual([]);
  });

  it("drops responses: the message may have been sent although the bot saw a network error", async () => {
    const bot = newBot(fake);
    fake.user(ALICE);
    fake.failNext("sendMessage", { type: "drop", applied: true });
    fake.failNext("sendMessage", { type: "drop", applied: false });
    const afterSending = await rejection(bot.telegram.sendMessage(ALICE.id, "applied"));
    const beforeSending = await rejection(bot.telegram.sendMessage(ALICE.id, "lost"));
    expect((afterSending as Error).name).toBe("FetchError");
    expect((beforeSending as Error).name).toBe("FetchError");
    expect(fake.sentMessages(ALICE.id).map((m) => m.text)).toEqual(["applied"]);
    expect(fake.calls("sendMessage").map((c) => c.dropped)).toEqual([true, true]);
  });

  it("injects 5xx (JSON or nginx HTML) and slow answers", async () => {
    const bot = newBot(fake);
    fake.user(ALICE);
    fake.failNext("sendMessage", { type: "serverError", status: 502, html: true });
    const error = await rejection(bot.telegram.sendMessage(ALICE.id, "x"));
    expect(error).toMatchObject({ code: 502, description: "Bad Gateway" });
    fake.failNext("sendChatAction", { type: "delay", delayMs: 300 });
    const started = Date.now();
    await bot.telegram.sendChatAction(ALICE.id, "upload_photo");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    fake.storm("*", { type: "serverError", status: 500 }, { every: 2 });
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        bot.telegram.sendMessage(ALICE.id, `m${i}`).then(
          () => "ok",
          () => "err",
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "err")).toHaveLength(2);
    fake.stopStorms();
    await bot.telegram.sendMessage(ALICE.id, "after");
  });

  it("telegraf's poller retries getUpdates after a 429 and then receives the update", async () => {
    const seen: string[] = [];
    const bot = newBot(fake);
    bot.on(message("text"), (ctx) => {
      seen.push(ctx.message.text);
    });
    const run = await launch(bot);
    fake.failNext("getUpdates", { type: "tooManyRequests", retryAfterS: 0.05 });
    fake.sendText(ALICE, "hello"); // the waiting poll answers; the next poll gets the 429
    fake.sendText(ALICE, "again");
    await fake.waitFor(() => seen.length === 2);
    expect(seen).toEqual(["hello", "again"]);
    expect(fake.calls("getUpdates").some((c) => c.injected === "tooManyRequests")).toBe(true);
    expect(run.errors).toEqual([]);
  });
});

describe("update delivery", () => {
  it("terminates the first poller with 409 when a second bot instance polls", async () => {
    const first = newBot(fake);
    const firstRun = await launch(first);
    const second = newBot(fake);
    const replies: string[] = [];
    second.on(message("text"), (ctx) => {
      replies.push(ctx.message.text);
    });
    second.catch(() => undefined);
    const secondDone = second.launch();
    running.push({
      errors: [],
      done: secondDone,
      stop: async () => {
        second.stop();
        await secondDone.catch(() => undefined);
      },
    });
    const error = await rejection(firstRun.done);
    expect(error).toBeInstanceOf(TelegramError);
    expect((error as TelegramError).code).toBe(409);
    expect((error as TelegramError).description).toBe(
      "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    );
    fake.sendText(ALICE, "to the survivor");
    await fake.waitFor(() => replies.length === 1);
    expect(replies).toEqual(["to the survivor"]);
  });

  it("stops a poller with 409 when a webhook gets set", async () => {
    const bot = newBot(fake);
    const run = await launch(bot);
    expect((await rawCall(fake, "setWebhook", { url: "https://bot.example/hook" })).status).toBe(200);
    const error = await rejection(run.done);
    expect((error as TelegramError).code).toBe(409);
    expect((error as TelegramError).description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
    const direct = await rejection(bot.telegram.callApi("getUpdates", {}));
    expect((direct as TelegramError).code).toBe(409);
  });

  it("delivers an update twice with the same update_id (duplicateNextUpdates, redeliverUpdate)", async () => {
    const seen: number[] = [];
    const bot = newBot(fake);
    bot.on(message("text"), (ctx) => {
      seen.push(ctx.update.update_id);
    });
    await launch(bot);
    fake.duplicateNextUpdates(1);
    fake.sendText(ALICE, "pay 100");
    await fake.waitFor(() => seen.length === 2);
    expect(seen[0]).toBe(seen[1]);
    fake.sendText(ALICE, "once");
    await fake.waitFor(() => seen.length === 3);
    const once = seen[2] ?? 0;
    expect(once).toBe((seen[0] ?? 0) + 1);
    fake.redeliverUpdate(once);
    await fake.waitFor(() => seen.length === 4);
    expect(seen[3]).toBe(once);
  });
});

describe("Stars payments", () => {
  it("runs invoice → pre_checkout_query → successful_payment → refund", async () => {
    const payments: TgSuccessfulPayment[] = [];
    const bot = newBot(fake);
    bot.command("buy", (ctx) =>
      ctx.replyWithInvoice({
        title: "100 кредитов",
        description: "Пополнение баланса",
        payload: "topup:100",
        provider_token: "",
        currency: "XTR",
        prices: [{ label: "100 кредитов", amount: 50 }],
      }),
    );
    bot.on("pre_checkout_query", (ctx) =>
      ctx.answerPreCheckoutQuery(ctx.preCheckoutQuery.invoice_payload === "topup:100"),
    );
    bot.on(message("successful_payment"), async (ctx) => {
      payments.push(ctx.message.successful_payment);
      await ctx.reply("Зачислено");
    });
    await launch(bot);
    fake.sendText(ALICE, "/buy");
    const invoice = await fake.waitForMessage(ALICE.id, (m) => m.invoice !== undefined);
    expect(invoice.invoice).toEqual({
      title: "100 кредитов",
      description: "Пополнение баланса",
      start_parameter: "",
      currency: "XTR",
      total_amount: 50,
    });
    const outcome = await fake.payInvoice(ALICE, invoice);
    expect(outcome.status).toBe("paid");
    await fake.waitForMessage(ALICE.id, (m) => m.text === "Зачислено");
    expect(payments).toEqual([
      expect.objectContaining({ currency: "XTR", total_amount: 50, invoice_payload: "topup:100" }) as unknown,
    ]);
    const chargeId = outcome.status === "paid" ? outcome.chargeId : "";
    // telegraf's types stop at Bot API 7.1 (no Stars methods): call it by name, as the bot will.
    const refund = { user_id: ALICE.id, telegram_payment_charge_id: chargeId };
    await bot.telegram.callApi("refundStarPayment" as "getMe", refund);
    expect(fake.isRefunded(chargeId)).toBe(true);
    const again = await rejection(bot.telegram.callApi("refundStarPayment" as "getMe", refund));
    expect((again as TelegramError).description).toBe("Bad Request: CHARGE_ALREADY_REFUNDED");
    const badInvoice = await rejection(
      bot.telegram.sendInvoice(ALICE.id, {
        title: "t",
        description: "d",
        payload: "p",
        provider_token: "",
        currency: "XTR",
        prices: [
          { label: "a", amount: 1 },
          { label: "b", amount: 1 },
        ],
      }),
    );
    expect((badInvoice as TelegramError).description).toBe("Bad Request: STARS_INVOICE_INVALID");
  });
});
