// Webhook mode: the fake POSTs updates to a telegraf webhookCallback behind a local node:http server.
import { once } from "node:events";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Markup } from "telegraf";
import { message } from "telegraf/filters";
import { afterEach, describe, expect, it } from "vitest";
import type { FakeTelegram } from "../../src/index.js";
import { ALICE, newBot, startFake } from "./helpers.js";

let fake: FakeTelegram | undefined;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  await fake?.close();
  fake = undefined;
  server = undefined;
});

type Callback = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Serves the bot's webhook callback on 127.0.0.1 and points the fake's deliveries at it. */
async function serve(f: FakeTelegram, callback: Callback): Promise<void> {
  server = createServer((req, res) => {
    void callback(req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  f.setWebhookOrigin(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

describe("webhook delivery", () => {
  it("sends the secret header; a wrong secret gets 403 and is retried until the webhook is fixed", async () => {
    const f = (fake = await startFake({ webhookRetryDelaysMs: Array<number>(200).fill(25) }));
    const bot = newBot(f);
    const seen: string[] = [];
    bot.on(message("text"), async (ctx) => {
      seen.push(ctx.message.text);
      await ctx.reply("принято");
    });
    // The bot checks "right"; the webhook is registered with "wrong".
    await serve(f, bot.webhookCallback("/tg/hook", { secretToken: "right" }));
    await bot.telegram.setWebhook("https://bot.example.test/tg/hook", { secret_token: "wrong" });
    const update = f.sendText(ALICE, "/start");
    await f.waitFor(() => f.webhookDeliveries().filter((d) => d.status === 403).length >= 2);
    expect(seen).toEqual([]);
    expect(f.webhookInfo()).toMatchObject({
      url: "https://bot.example.test/tg/hook",
      pending_update_count: 1,
      last_error_message: "Wrong response from the webhook: 403 Forbidden",
    });
    await bot.telegram.setWebhook("https://bot.example.test/tg/hook", { secret_token: "right" });
    await f.waitForMessage(ALICE.id, (m) => m.text === "принято");
    // The delivery is recorded once the bot's answer has been read, after the handler ran.
    await f.waitFor(() => f.webhookDeliveries().some((d) => d.status === 200));
    expect(seen).toEqual(["/start"]);
    const deliveries = f.webhookDeliveries();
    expect(deliveries.every((d) => d.secretTokenSent && d.url.endsWith("/tg/hook"))).toBe(true);
    expect(deliveries.at(-1)).toMatchObject({ status: 200 });
    expect(new Set(deliveries.map((d) => d.updateId)).size).toBe(1);
    expect(deliveries[0]?.updateId).toBeGreaterThan(0);
    expect(update.text).toBe("/start");
    expect(f.pendingUpdateCount()).toBe(0);
  });

  it("gives up on an update after the bounded retries", async () => {
    const f = (fake = await startFake({ webhookRetryDelaysMs: [10, 10] }));
    const bot = newBot(f);
    await serve(f, bot.webhookCallback("/tg/hook", { secretToken: "right" }));
    await bot.telegram.setWebhook("https://bot.example.test/tg/hook", { secret_token: "wrong" });
    f.sendText(ALICE, "lost");
    await f.waitFor(() => f.pendingUpdateCount() === 0 && f.webhookDeliveries().length === 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(f.webhookDeliveries().map((d) => [d.attempt, d.status])).toEqual([
      [1, 403],
      [2, 403],
      [3, 403],
    ]);
  });

  it("executes the method telegraf writes into the webhook answer and records it", async () => {
    const f = (fake = await startFake());
    const bot = newBot(f);
    bot.start((ctx) =>
      ctx.reply("Меню", Markup.inlineKeyboard([[Markup.button.callback("Баланс", "balance")]])),
    );
    bot.action("balance", async (ctx) => {
      await ctx.answerCbQuery("Баланс: 40"); // goes into the webhook answer (webhookReply)
      await ctx.reply("40 кредитов"); // the answer is taken: a normal HTTP call
    });
    await serve(
      f,
      await bot.createWebhook({ domain: "bot.example.test", path: "/tg/hook", secret_token: "s3cret" }),
    );
    expect(f.webhookInfo().url).toBe("https://bot.example.test/tg/hook");
    f.sendText(ALICE, "/start");
    const menu = await f.waitForMessage(ALICE.id, (m) => m.text === "Меню");
    const query = f.pressButton(ALICE, menu, "balance");
    await f.waitForMessage(ALICE.id, (m) => m.text === "40 кредитов");
    const answer = await f.waitForCall("answerCallbackQuery");
    expect(answer).toMatchObject({
      via: "webhook-reply",
      params: { callback_query_id: query.id, text: "Баланс: 40" },
      response: { ok: true, result: true },
    });
    expect(f.callbackAnswer(query.id)?.text).toBe("Баланс: 40");
    expect(f.webhookDeliveries().map((d) => d.replyMethod)).toEqual([undefined, "answerCallbackQuery"]);
    expect(f.calls("sendMessage").map((c) => c.via)).toEqual(["http", "http"]);
  });

  it("posts a duplicated update twice, in order", async () => {
    const f = (fake = await startFake());
    const bot = newBot(f);
    const seen: [number, string][] = [];
    bot.on(message("text"), (ctx) => {
      seen.push([ctx.update.update_id, ctx.message.text]);
    });
    await serve(f, bot.webhookCallback("/hook"));
    await bot.telegram.setWebhook("https://bot.example.test/hook");
    f.duplicateNextUpdates(1);
    const first = f.sendText(ALICE, "one");
    f.sendText(ALICE, "two");
    await f.waitFor(() => seen.length === 3);
    const ids = seen.map(([id]) => id);
    expect(seen.map(([, text]) => text)).toEqual(["one", "one", "two"]);
    expect(ids[0]).toBe(ids[1]);
    expect(first.message_id).toBe(1);
  });
});
