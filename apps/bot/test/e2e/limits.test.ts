// The bot within Telegram's real limits (issue 16): the Telegram fake answers 429 past 1 message/s per
// chat or 30/s overall and refuses callback answers that come too late, and the bot runs with
// Telegram's own pacing. Intake never waits for delivery, button presses are answered before queued
// messages, a crowd gets everything without one 429 — and readiness and the command menus are true.
import {
  freePort,
  NATS_URL,
  spawnApp,
  startFakeTelegram,
  type TgCallRecord,
  waitForHttpOk,
} from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditCrowd, CrowdObserver, runCrowd } from "./crowd.js";
import { type Stack, startStack, TOKEN } from "./stack.js";
import { startTcpProxy } from "./tcp-proxy.js";

let stack: Stack;
const observer = new CrowdObserver();

beforeAll(async () => {
  stack = await startStack({
    label: "bot_limits",
    telegram: { floodLimits: true, onCall: observer.onCall },
    botEnv: { BOT_SEND_CHAT_INTERVAL_MS: "1000", BOT_SEND_CHAT_BURST: "1", BOT_SEND_GLOBAL_PER_S: "30" },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** Polls `probe` every 100 ms; true once it held, false when timeoutMs passed first. */
async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const toChat = (chatId: number) => (call: TgCallRecord) => Number(call.params["chat_id"]) === chatId;

describe("intake never waits on output", () => {
  it("while every sendMessage takes 3 s, the next updates are still fetched and handled at once", async () => {
    const users = [2001, 2002, 2003, 2004, 2005].map((id) => stack.user({ id, language_code: "ru" }));
    const seq = stack.telegram.lastSeq();
    stack.telegram.storm("sendMessage", { type: "delay", delayMs: 3_000 });
    try {
      // One after the other, each in a getUpdates batch of its own: the next is fetched and handled
      // (its "typing…" goes out) while the replies to the earlier ones are still with Telegram.
      for (const user of users) {
        user.send("/start");
        await stack.telegram.waitForCall("sendChatAction", toChat(user.id), {
          afterSeq: seq,
          timeoutMs: 20_000,
        });
      }
      // Not one of the replies has been answered by Telegram yet.
      expect(stack.telegram.calls("sendMessage").filter((c) => c.seq > seq)).toHaveLength(0);
    } finally {
      stack.telegram.stopStorms();
    }
    for (const user of users) await user.reply(0, /Привет/, 30_000);
  });

  it("a button press is answered before the messages queued ahead of its reply", async () => {
    const user = stack.user({ id: 2010, language_code: "ru" });
    const greeting = await user.reply(user.send("/start").message_id, /Привет/);
    const seq = stack.telegram.lastSeq();
    stack.telegram.storm("sendMessage", { type: "delay", delayMs: 2_000 });
    try {
      user.send("/help");
      user.send("/balance");
      const { queryId } = user.press("🎨", { on: greeting });
      await user.reply(greeting.message_id, /Опишите картинку/, 30_000);
      const answer = stack.telegram
        .calls("answerCallbackQuery")
        .find((c) => c.params["callback_query_id"] === queryId);
      expect(answer?.response?.ok).toBe(true);
      const replies = stack.telegram.calls("sendMessage").filter((c) => c.seq > seq && toChat(user.id)(c));
      expect(replies).toHaveLength(3);
      expect(replies.every((reply) => (answer?.seq ?? Infinity) < reply.seq)).toBe(true);
    } finally {
      stack.telegram.stopStorms();
    }
  });
});

describe("Telegram's budget", () => {
  it("a crowd of 40 users (4 paying) gets every message in order, and pacing never draws a 429", async () => {
    const before = { tooMany: observer.tooManyRequests, refused: observer.callbackRefused };
    const run = await runCrowd(stack, observer, {
      users: 40,
      arrivalMs: 1_000,
      payEvery: 10,
      firstUserId: 3_000,
      stepTimeoutMs: 60_000,
    });
    expect(run.failures).toEqual([]);
    const audit = await auditCrowd(stack, run);
    expect(audit.wrongUsers).toEqual([]);
    expect(audit.ledgerOk).toBe(true);
    // 40 × 3 + 4 × 3 messages: far more than 30 in a second and 3 per chat, not one refused.
    expect(observer.tooManyRequests - before.tooMany).toBe(0);
    expect(observer.callbackRefused - before.refused).toBe(0);
    expect(await stack.metric("bot_telegram_429_total")).toBe(0);
    expect(await stack.metric("bot_messages_sent_total", { priority: "high" })).toBeGreaterThanOrEqual(44);
  }, 120_000);
});

describe("start-up", () => {
  it("registers /start, /balance and /help for Russian and English readers and a default menu", () => {
    const ru = [
      { command: "start", description: "Главное меню и бесплатные операции" },
      { command: "balance", description: "Баланс, история и пополнение" },
      { command: "help", description: "Как это работает и цены" },
    ];
    expect(stack.telegram.myCommands("ru")).toEqual(ru);
    expect(stack.telegram.myCommands("en")).toEqual([
      { command: "start", description: "Main menu and free operations" },
      { command: "balance", description: "Balance, history and top-up" },
      { command: "help", description: "How it works and prices" },
    ]);
    // Everyone else gets the default language (ru).
    expect(stack.telegram.myCommands()).toEqual(ru);
  });

  it("/readyz is 503 while NATS is unreachable and 200 again once it is back", async () => {
    const nats = new URL(NATS_URL);
    const proxy = await startTcpProxy({ host: nats.hostname, port: Number(nats.port || 4222) }, "nats");
    // A second bot of its own (its own Telegram), reaching NATS through the proxy.
    const telegram = await startFakeTelegram({ token: TOKEN });
    const opsPort = String(await freePort());
    const bot = spawnApp("bot", {
      ...stack.botEnv,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      NATS_URL: proxy.url,
      BOT_OPS_PORT: opsPort,
    });
    const readyz = `http://127.0.0.1:${opsPort}/readyz`;
    const status = () => fetch(readyz).then((r) => r.status);
    try {
      await waitForHttpOk(readyz, bot, 30_000);
      await proxy.cut();
      expect(await until(async () => (await status()) === 503, 15_000)).toBe(true);
      await proxy.heal();
      await waitForHttpOk(readyz, bot, 30_000);
      expect(await status()).toBe(200);
    } finally {
      await bot.stop(10_000);
      await proxy.close();
      await telegram.close();
    }
  });
});
