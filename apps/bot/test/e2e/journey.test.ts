// A Telegram user's journey through the real system: the bot process against the Telegram fake, real
// billing, worker (local provider) and webhooks processes, PostgreSQL and NATS, the YooKassa fake.
// Every assertion is about what the user saw (the fake's record of the chat) or the state left behind
// (balances and statements from billing, bytes in the object stores).
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { createTestPng, metricValue, type TgCallRecord, type TgMessage } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { damagedPng, type Stack, startStack, TestUser } from "./stack.js";

let stack: Stack;

beforeAll(async () => {
  // Photos above 0.5 MB are refused here, so the size check is testable with small test images.
  stack = await startStack({ label: "bot_journey", botEnv: { BOT_MAX_PHOTO_BYTES: String(512 * 1024) } });
});
afterAll(async () => {
  await stack?.close();
});

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const isPhoto = (m: TgMessage) => m.photo !== undefined;
const buttons = (m: TgMessage) => (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);
const isUploadPhoto = (call: TgCallRecord, chatId: number) =>
  call.params["action"] === "upload_photo" && Number(call.params["chat_id"]) === chatId;
const balanceOf = (userId: number) => stack.admin.wallet.getBalance({ userRef: `telegram:${userId}` });
const jobIdOf = (result: TgMessage): string => {
  const again = (result.reply_markup?.inline_keyboard ?? [])
    .flat()
    .find((b) => "callback_data" in b && b.callback_data.startsWith("again:"));
  if (again === undefined || !("callback_data" in again)) throw new Error("no again button on the result");
  return again.callback_data.slice("again:".length);
};

/** Chooses a mode from the newest menu and sends the prompt; returns the result (photo) message. */
async function generate(user: TestUser, prompt: string): Promise<TgMessage> {
  const before = user.mark();
  user.press("🎨");
  await user.reply(before, /Опишите картинку|Describe the picture/);
  const seq = stack.telegram.lastSeq();
  const sent = user.send(prompt).message_id;
  // "Sending a photo…" shows while the job runs (a chat action, not a message of its own).
  await user.uploadingPhoto(seq);
  return user.reply(sent, isPhoto);
}

describe("a new user", () => {
  it("gets four free generations, is refused the fifth, tops up 100 ₽, pays for one: 90 left, in the statement", async () => {
    const user = stack.user({ id: 1001, first_name: "Анна", language_code: "ru" });
    let at = user.send("/start").message_id;
    const greeting = await user.reply(at, /Привет, Анна/);
    expect(greeting.text).toContain("Доступны 4 бесплатные операции");
    expect(greeting.text).toContain("Платная операция — 10 кредитов (1 кредит = 1 ₽)");
    expect(greeting.text).toContain("«Добавить текст» — бесплатно");
    expect(buttons(greeting)).toEqual([
      "🎨 Создать",
      "✏️ Редактировать",
      "🔗 Объединить",
      "📝 Добавить текст (бесплатно)",
      "🔄 Заменить лицо",
      "✨ Ретушь",
      "⬆️ Улучшить",
      "💰 Оплатить / Баланс",
    ]);

    for (let i = 1; i <= 4; i++) {
      const result = await generate(user, `рыжая лиса №${i}`);
      expect([...stack.telegram.mediaBytes(result).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect(result.caption).toContain("Оплачено бесплатной операцией");
      expect(result.caption).toContain(
        i < 4 ? `Осталось: 0 кредитов и ${4 - i} бесплатн` : "Осталось: 0 кредитов.",
      );
      user.press("🏠 Меню", { on: result });
      await user.reply(result.message_id, /Выберите режим/);
    }
    expect(await balanceOf(1001)).toMatchObject({ freeOperationsAvailable: 0n, creditsAvailable: 0n });

    at = user.mark();
    user.press("🎨");
    await user.reply(at, /Опишите картинку/);
    at = user.send("пятая лиса").message_id;
    const refusal = await user.reply(at, /Недостаточно средств/);
    expect(refusal.text).toContain("стоит 10 кредитов, на балансе 0 кредитов");
    expect(buttons(refusal)).toContain("💰 Пополнить баланс");
    expect(user.replies(at).some(isPhoto)).toBe(false);

    at = user.mark();
    user.press("💰 Пополнить баланс", { on: refusal });
    const balance = await user.reply(at, /Баланс: 0 кредитов/);
    expect(buttons(balance)).toEqual([
      "100 ₽",
      "300 ₽",
      "500 ₽",
      "1000 ₽",
      "✍️ Другая сумма",
      "⭐ Оплатить Telegram Stars",
      "🏠 Меню",
    ]);
    at = user.mark();
    user.press("100 ₽", { on: balance });
    const invoice = await user.reply(at, /Счёт на 100 ₽/);
    const link = TestUser.link(invoice);
    expect(link).toMatch(/\/checkout\//);
    expect(buttons(invoice)).toContain("💳 Оплатить 100 ₽");
    const paymentId = (link ?? "").split("/checkout/")[1] ?? "";
    stack.yookassa.pay(paymentId);
    const paid = await user.reply(invoice.message_id, /Оплата получена/);
    expect(paid.text).toContain("Начислено 100 кредитов");
    expect(paid.text).toContain("Баланс: 100 кредитов");

    user.press("🏠 Меню", { on: paid });
    await user.reply(paid.message_id, /Выберите режим/);
    const paidResult = await generate(user, "кот в сапогах");
    expect(paidResult.caption).toContain("Списано 10 кредитов");
    expect(paidResult.caption).toContain("Осталось: 90 кредитов.");
    expect(await balanceOf(1001)).toMatchObject({
      creditsAvailable: 90n,
      creditsReserved: 0n,
      freeOperationsAvailable: 0n,
    });

    at = user.send("/balance").message_id;
    const statement = await user.reply(at, /Баланс: 90 кредитов/);
    expect(statement.text).toContain("Бесплатных операций: 0");
    expect(statement.text).toMatch(/Оплата: Создать: −10 кредитов/);
    expect(statement.text).toMatch(/💳 Пополнение: \+100 кредитов/);
    const entries = await stack.client.wallet.listTransactions({ userRef: "telegram:1001" });
    expect(
      entries.transactions.filter((t) => t.kind === TransactionKind.TOP_UP).map((t) => t.amount),
    ).toEqual([100n]);
    expect(await stack.admin.wallet.verifyLedger({})).toMatchObject({ ok: true });
  });
});

describe("paying once", () => {
  it("the same update delivered twice, two taps on a mode and two taps on 'again' each charge once", async () => {
    const user = stack.user({ id: 1002, language_code: "ru" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    at = user.mark();
    const menu = user.replies().at(-1);
    user.press("🎨", { ...(menu === undefined ? {} : { on: menu }) });
    user.press("🎨", { ...(menu === undefined ? {} : { on: menu }) });
    await user.reply(at, /Опишите картинку/);
    stack.telegram.duplicateNextUpdates(1);
    const promptSeq = stack.telegram.lastSeq();
    at = user.send("сова на ветке").message_id;
    const result = await user.reply(at, isPhoto);
    // Give a second (wrong) job time to show up, if there were one.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(user.replies(at).filter(isPhoto)).toHaveLength(1);
    // One job, so one "sending a photo…" and no other message than the result.
    expect(
      stack.telegram.calls("sendChatAction").filter((c) => c.seq > promptSeq && isUploadPhoto(c, 1002)),
    ).toHaveLength(1);
    // (the second tap's question may land after the prompt; nothing else may)
    expect(user.replies(at).filter((m) => !/Опишите картинку/.test(m.text ?? ""))).toHaveLength(1);
    expect(await balanceOf(1002)).toMatchObject({ freeOperationsAvailable: 3n, freeOperationsReserved: 0n });
    // The prompt's update really reached the bot twice.
    const deliveredPrompt = stack.telegram
      .calls("getUpdates")
      .flatMap((call) =>
        call.response?.ok === true ? (call.response.result as { message?: TgMessage }[]) : [],
      )
      .filter((update) => update.message?.chat.id === 1002 && update.message.message_id === at);
    expect(deliveredPrompt).toHaveLength(2);

    at = user.mark();
    const taps = [user.press("🔁 Ещё раз", { on: result }), user.press("🔁 Ещё раз", { on: result })];
    await user.reply(at, isPhoto);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(user.replies(at).filter(isPhoto)).toHaveLength(1);
    // Both taps reached the bot: each callback query was answered.
    const answered = new Set(
      stack.telegram.calls("answerCallbackQuery").map((c) => c.params["callback_query_id"]),
    );
    expect(taps.every((tap) => answered.has(tap.queryId))).toBe(true);
    expect(await balanceOf(1002)).toMatchObject({ freeOperationsAvailable: 2n, freeOperationsReserved: 0n });
    const statement = await stack.client.wallet.listTransactions({ userRef: "telegram:1002" });
    expect(statement.transactions.filter((t) => t.kind === TransactionKind.HOLD)).toHaveLength(2);
  });

  it("a provider failure says so and returns the free operation", async () => {
    const user = stack.user({ id: 1003, language_code: "ru" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    at = user.mark();
    user.press("✨ Ретушь");
    await user.reply(at, /Пришлите фото для ретуши/);
    at = user.sendPhoto(damagedPng(createTestPng({ width: 32, height: 32, seed: 9 }))).message_id;
    const failure = await user.reply(at, /Не получилось/);
    expect(failure.text).toContain("Ретушь");
    expect(failure.text).toContain("Бесплатная операция вернулась вам");
    expect(user.replies(at).some(isPhoto)).toBe(false);
    expect(await balanceOf(1003)).toMatchObject({ freeOperationsAvailable: 4n, freeOperationsReserved: 0n });
  });

  it("a provider failure on a paid operation returns the credits", async () => {
    const user = stack.user({ id: 1004, language_code: "ru" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    // Use up the free operations on the cheapest path, then pay with granted credits.
    for (let i = 0; i < 4; i++) {
      const result = await generate(user, `набросок ${i}`);
      user.press("🏠 Меню", { on: result });
      await user.reply(result.message_id, /Выберите режим/);
    }
    await stack.admin.wallet.grant({
      userRef: "telegram:1004",
      amountCredits: 30n,
      reason: "e2e",
      idempotencyKey: "e2e-grant-1004",
    });
    at = user.mark();
    user.press("✨ Ретушь");
    await user.reply(at, /Стоимость: 10 кредитов/);
    const getHolds = () =>
      metricValue(stack.billing.metricsUrl, "billing_rpc_duration_seconds_count", {
        procedure: "billing.v1.WalletService/GetHold",
      });
    const getHoldsBefore = await getHolds();
    at = user.sendPhoto(damagedPng(createTestPng({ width: 32, height: 32, seed: 10 }))).message_id;
    const failure = await user.reply(at, /Не получилось/);
    expect(failure.text).toContain("10 кредитов вернулись на баланс");
    // The failed event says what went back: nobody asked billing for the hold.
    expect(await getHolds()).toBe(getHoldsBefore);
    expect(await balanceOf(1004)).toMatchObject({ creditsAvailable: 30n, creditsReserved: 0n });
  });
});

describe("custom top-up amount", () => {
  it('refuses "5" and "abc", accepts "250" with a 250 ₽ payment link', async () => {
    const user = stack.user({ id: 1005, language_code: "ru" });
    let at = user.send("/balance").message_id;
    const balance = await user.reply(at, /Баланс: 0 кредитов/);
    at = user.mark();
    user.press("Другая сумма", { on: balance });
    const ask = await user.reply(at, /Введите сумму пополнения в рублях — от 10 ₽ до/);
    at = user.send("5").message_id;
    expect((await user.reply(at, () => true)).text).toBe("Минимальная сумма пополнения — 10 ₽.");
    at = user.send("abc").message_id;
    expect((await user.reply(at, () => true)).text).toBe("Введите сумму целым числом рублей, например 250.");
    at = user.send("250").message_id;
    const invoice = await user.reply(at, () => true);
    expect(invoice.text).toContain("Счёт на 250 ₽ создан: после оплаты будет начислено 250 кредитов");
    expect(buttons(invoice)).toContain("💳 Оплатить 250 ₽");
    const paymentId = (TestUser.link(invoice) ?? "").split("/checkout/")[1] ?? "";
    expect(stack.yookassa.getPayment(paymentId)?.amount).toEqual({ value: "250.00", currency: "RUB" });
    expect(ask.message_id).toBeLessThan(invoice.message_id);
  });
});

describe("photo modes", () => {
  it("the worker gets the user's exact photo bytes; the user gets the worker's exact result", async () => {
    const user = stack.user({ id: 1006, language_code: "ru" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    const first = createTestPng({ width: 48, height: 40, seed: 21 });
    const second = createTestPng({ width: 40, height: 48, seed: 22 });
    at = user.mark();
    user.press("🔗 Объединить");
    await user.reply(at, /Пришлите два фото/);
    at = user.sendPhoto(first).message_id;
    await user.reply(at, /Фото 1 из 2 получено/);
    at = user.sendPhoto(second).message_id;
    const result = await user.reply(at, isPhoto);
    const jobId = jobIdOf(result);
    const inputs = await stack.buckets.inputs.list();
    const names = inputs
      .filter((o) => o.name.startsWith(jobId) && !o.deleted)
      .map((o) => o.name)
      .sort();
    expect(names).toEqual([`${jobId}-in-0`, `${jobId}-in-1`]);
    expect(Buffer.from((await stack.buckets.inputs.getBlob(`${jobId}-in-0`)) ?? [])).toEqual(
      Buffer.from(first),
    );
    expect(Buffer.from((await stack.buckets.inputs.getBlob(`${jobId}-in-1`)) ?? [])).toEqual(
      Buffer.from(second),
    );
    expect(Buffer.from((await stack.buckets.results.getBlob(jobId)) ?? [])).toEqual(
      stack.telegram.mediaBytes(result),
    );
  });

  it("edit takes the prompt from the caption; add_text is free; wrong input is refused with the reason", async () => {
    const user = stack.user({ id: 1007, language_code: "ru" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    at = user.mark();
    user.press("✏️ Редактировать");
    await user.reply(at, /Пришлите фото, которое нужно изменить/);
    at = user.send("сделай ярче").message_id;
    expect((await user.reply(at, () => true)).text).toContain("Нужна фотография");
    at = user.sendPhoto(createTestPng({ width: 800, height: 800, seed: 5 })).message_id;
    expect((await user.reply(at, () => true)).text).toBe("Фото слишком большое: не больше 0,5 МБ.");
    at = user.sendPhoto(createTestPng({ width: 40, height: 40, seed: 6 }), "сделай ярче").message_id;
    const edited = await user.reply(at, isPhoto);
    expect(edited.caption).toContain("Готово: Редактировать");
  });

  it("add_text costs nothing and keeps the free operations", async () => {
    const user = stack.user({ id: 1008, language_code: "ru" });
    let at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    at = user.mark();
    user.press("📝 Добавить текст");
    const ask = await user.reply(at, /Пришлите фото/);
    expect(ask.text).toContain("Бесплатно.");
    at = user.sendPhoto(createTestPng({ width: 40, height: 40, seed: 7 })).message_id;
    await user.reply(at, /Теперь пришлите текст/);
    at = user.send("x".repeat(201)).message_id;
    expect((await user.reply(at, () => true)).text).toBe("Слишком длинный текст: не больше 200 символов.");
    at = user.send("РАСПРОДАЖА").message_id;
    const result = await user.reply(at, isPhoto);
    expect(result.caption).toContain("Бесплатно");
    expect(await balanceOf(1008)).toMatchObject({ freeOperationsAvailable: 4n, creditsAvailable: 0n });
  });
});

describe("language", () => {
  it("an en user gets English, a ru user Russian", async () => {
    const english = stack.user({ id: 1009, first_name: "Ann", language_code: "en" });
    const russian = stack.user({ id: 1010, first_name: "Аня", language_code: "ru" });
    const enAt = english.send("/start").message_id;
    const ruAt = russian.send("/start").message_id;
    const enGreeting = await english.reply(enAt, () => true);
    const ruGreeting = await russian.reply(ruAt, () => true);
    expect(enGreeting.text).toContain("Hi, Ann!");
    expect(enGreeting.text).toContain("You have 4 free operations left.");
    expect(buttons(enGreeting)).toContain("📝 Add text (free)");
    expect(buttons(enGreeting)).toContain("💰 Pay / Balance");
    expect(ruGreeting.text).toContain("Привет, Аня!");
    expect(buttons(ruGreeting)).toContain("💰 Оплатить / Баланс");

    const result = await generate(english, "a red fox");
    expect(result.caption).toContain("Paid with a free operation");
    expect(result.caption).toContain("Left: 0 credits and 3 free operations.");
  });
});

describe("delivery", () => {
  it("during a 429 storm every message still arrives, in order per chat", async () => {
    const users = [1011, 1012, 1013].map((id) => stack.user({ id, language_code: "ru" }));
    const before = await stack.metric("bot_telegram_429_total");
    stack.telegram.storm(
      ["sendMessage", "sendPhoto"],
      { type: "tooManyRequests", retryAfterS: 0.2 },
      { every: 2 },
    );
    stack.telegram.failNext("sendMessage", { type: "serverError", status: 502 }, { times: 2 });
    try {
      for (const user of users) {
        user.send("/start");
        user.send("/help");
        user.send("/balance");
      }
      for (const user of users) {
        await user.reply(0, /Баланс: 0 кредитов/, 30_000);
        expect(user.replies().map((m) => (m.text ?? "").split("\n")[0])).toEqual([
          expect.stringMatching(/^👋 Привет/),
          "Как это работает:",
          expect.stringMatching(/^💰 Баланс/),
        ]);
      }
    } finally {
      stack.telegram.stopStorms();
    }
    expect(await stack.metric("bot_telegram_429_total")).toBeGreaterThan(before);
  });
});
