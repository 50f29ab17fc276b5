// The bot in webhook mode (Telegram posts each update with the secret header), and the process
// itself: a failing handler never stops it, SIGTERM drains and exits 0, bad configuration exits 78,
// and the token never shows in its logs.
import { spawnApp, waitForHttpOk } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, TestUser, TOKEN, WEBHOOK_PATH, WEBHOOK_SECRET } from "./stack.js";

let stack: Stack;

beforeAll(async () => {
  // Receipts on, and holds that expire after 3 s (no job here outlives that unless the worker is down).
  stack = await startStack({
    label: "bot_webhook",
    webhook: true,
    receipts: true,
    botEnv: { BOT_HOLD_TIMEOUT_MS: "3000" },
  });
});
afterAll(async () => {
  await stack?.close();
});

function update(updateId: number, userId: number, text: string) {
  return {
    update_id: updateId,
    message: {
      message_id: 1,
      date: Math.floor(Date.now() / 1000),
      from: { id: userId, is_bot: false, first_name: "Hook", language_code: "en" },
      chat: { id: userId, type: "private", first_name: "Hook" },
      text,
      entities: [{ type: "bot_command", offset: 0, length: text.length }],
    },
  };
}

async function post(path: string, body: unknown, secret?: string): Promise<number> {
  const response = await fetch(`${stack.webhookOrigin}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(secret === undefined ? {} : { "x-telegram-bot-api-secret-token": secret }),
    },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

describe("webhook mode", () => {
  it("registers https://<domain><path> with the secret and serves users through it", async () => {
    expect(stack.telegram.webhookInfo().url).toBe(`https://bot.example.test${WEBHOOK_PATH}`);
    const user = stack.user({ id: 3001, first_name: "Web", language_code: "en" });
    const at = user.send("/start").message_id;
    const greeting = await user.reply(at, /Hi, Web!/);
    expect(greeting.text).toContain("4 free operations");
    // The delivery is recorded when the bot's answer to it returns, which may follow the greeting.
    const deliveries = await stack.telegram.waitFor(() => {
      const recorded = stack.telegram.webhookDeliveries();
      return recorded.length > 0 ? recorded : undefined;
    });
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
  });

  it("answers 403 without Telegram's secret, 404 elsewhere, and handles nothing it refused", async () => {
    stack.telegram.user({ id: 3002, first_name: "Hook", language_code: "en" });
    expect(await post(WEBHOOK_PATH, update(900_001, 3002, "/help"), "wrong-secret-0123456789")).toBe(403);
    expect(await post(WEBHOOK_PATH, update(900_002, 3002, "/help"))).toBe(403);
    expect(await post("/elsewhere", update(900_003, 3002, "/help"), WEBHOOK_SECRET)).toBe(404);
    expect((await fetch(`${stack.webhookOrigin}${WEBHOOK_PATH}`)).status).toBe(405);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stack.telegram.sentMessages(3002)).toEqual([]);
    expect(await post(WEBHOOK_PATH, update(900_004, 3002, "/help"), WEBHOOK_SECRET)).toBe(200);
    const help = await stack.telegram.waitForMessage(3002, () => true);
    expect(help.text).toContain("How it works:");
  });
});

describe("webhook mode under slow delivery", () => {
  it("answers each update at once, even while every sendMessage takes 3 s", async () => {
    const users = [3101, 3102, 3103].map((id) => stack.user({ id, language_code: "en" }));
    const seq = stack.telegram.lastSeq();
    const sinceMs = Date.now();
    stack.telegram.storm("sendMessage", { type: "delay", delayMs: 3_000 });
    try {
      // The fake posts one update at a time and waits for each answer: every update delivered (200)
      // before any reply is through means no answer waited for a reply.
      for (const user of users) user.send("/start");
      const deliveries = await stack.telegram.waitFor(
        () => {
          const since = stack.telegram.webhookDeliveries().filter((d) => d.atMs >= sinceMs);
          return since.length >= users.length ? since : undefined;
        },
        10_000,
        "a delivery of every update",
      );
      expect(deliveries.every((d) => d.status === 200)).toBe(true);
      expect(stack.telegram.calls("sendMessage").filter((c) => c.seq > seq)).toHaveLength(0);
    } finally {
      stack.telegram.stopStorms();
    }
    for (const user of users) await user.reply(0, /Hi/, 30_000);
  });
});

describe("payments and holds, told in the chat", () => {
  it("asks the receipt email once, then hands out payment links directly", async () => {
    const user = stack.user({ id: 3010, first_name: "Rita", language_code: "en" });
    let at = user.send("/balance").message_id;
    const balance = await user.reply(at, /Balance: 0 credits/);
    at = user.mark();
    user.press("100 ₽", { on: balance });
    await user.reply(at, /The receipt needs an email address/);
    at = user.send("rita at example").message_id;
    expect((await user.reply(at, () => true)).text).toContain("does not look like an email");
    at = user.send("rita@example.com").message_id;
    const first = await user.reply(at, /A payment of 100 ₽ is ready/);
    at = user.mark();
    user.press("300 ₽", { on: balance });
    const second = await user.reply(at, () => true);
    expect(second.text).toContain("A payment of 300 ₽ is ready");
    const payments = [first, second].map((m) =>
      stack.yookassa.getPayment((TestUser.link(m) ?? "").split("/checkout/")[1] ?? ""),
    );
    expect(payments.map((p) => p?.amount.value)).toEqual(["100.00", "300.00"]);
  });

  it("a declined payment is explained in words", async () => {
    const user = stack.user({ id: 3011, first_name: "Dan", language_code: "ru" });
    await stack.client.wallet.openAccount({ userRef: "telegram:3011" });
    let at = user.send("/balance").message_id;
    const balance = await user.reply(at, /Баланс/);
    at = user.mark();
    user.press("500 ₽", { on: balance });
    await user.reply(at, /Для чека нужен адрес/);
    at = user.send("dan@example.com").message_id;
    const invoice = await user.reply(at, /Счёт на 500 ₽/);
    stack.yookassa.decline((TestUser.link(invoice) ?? "").split("/checkout/")[1] ?? "", "insufficient_funds");
    const canceled = await user.reply(invoice.message_id, /не прошёл/);
    expect(canceled.text).toBe(
      "❌ Платёж на 500 ₽ не прошёл: на карте недостаточно средств.\nДеньги не списаны. Можно попробовать ещё раз.",
    );
    expect((await stack.admin.wallet.getBalance({ userRef: "telegram:3011" })).creditsAvailable).toBe(0n);
  });

  it("a job that never finishes: the hold expires and the user hears the free operation came back", async () => {
    const user = stack.user({ id: 3012, language_code: "en" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Hi/);
    await stack.worker.stop();
    at = user.mark();
    user.press("🎨");
    await user.reply(at, /Describe the picture/);
    const seq = stack.telegram.lastSeq();
    at = user.send("a lighthouse").message_id;
    await user.uploadingPhoto(seq);
    const expired = await user.reply(at, /did not finish in time/, 20_000);
    expect(expired.text).toContain("“Create” did not finish in time and was cancelled.");
    expect(expired.text).toContain("Your free operation was returned.");
    expect(await stack.admin.wallet.getBalance({ userRef: "telegram:3012" })).toMatchObject({
      freeOperationsAvailable: 4n,
      freeOperationsReserved: 0n,
    });
  });
});

describe("the bot process", () => {
  it("answers a failing handler (billing down) with an apology and keeps serving", async () => {
    const user = stack.user({ id: 3003, language_code: "en" });
    await stack.billing.app.stop();
    let at = user.send("/balance").message_id;
    const apology = await user.reply(at, () => true, 30_000);
    expect(apology.text).toMatch(/temporarily unavailable|Something went wrong/);
    expect(await stack.metric("bot_handler_errors_total")).toBeGreaterThanOrEqual(1);
    // Billing back, the same bot answers again.
    const billing = spawnApp("billing", stack.billing.env);
    try {
      await waitForHttpOk(`${stack.billing.metricsUrl}/readyz`, billing);
      at = user.send("/start").message_id;
      await user.reply(at, /Hi, Tester!/, 20_000);
    } finally {
      await billing.stop();
    }
  }, 120_000);

  it("refuses bad configuration with exit code 78, naming the variables and never the token", async () => {
    const app = spawnApp("bot", {
      TELEGRAM_BOT_TOKEN: `${TOKEN} spaces`,
      BILLING_URL: "ftp://x",
    });
    expect(await app.exited).toBe(78);
    for (const variable of ["TELEGRAM_BOT_TOKEN", "BILLING_URL", "BILLING_TOKEN"]) {
      expect(app.logs()).toContain(variable);
    }
    expect(app.logs()).not.toContain("SECRET-token");
    expect(app.logs()).not.toContain("    at ");
  });

  it("stops on SIGTERM with exit code 0, and never logged the token", async () => {
    expect(await stack.bot.stop(10_000)).toBe(0);
    expect(
      await fetch(`${stack.botOps}/healthz`).then(
        () => "answered",
        () => "closed",
      ),
    ).toBe("closed");
    const logs = stack.bot.logs();
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(TOKEN.split(":")[1]);
    expect(logs).not.toContain(WEBHOOK_SECRET);
  });
});
