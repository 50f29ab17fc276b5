// A crowd of Telegram users played against the whole stack (see stack.ts), as Telegram would deliver
// them: each sends /start, taps "🎨 Создать", sends a prompt and waits for the picture; every n-th
// also tops up 100 ₽ (balance → package → pay). Observed through the fake's call log as it happens
// (no polling per user), so a thousand users cost the observer almost nothing. Used by
// `npm run bench:bot` (scripts/bench/bot.ts) and, with a few users, by the bot's e2e tests.
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import type { TgCallRecord, TgMessage } from "@billing/testkit";
import type { Stack } from "./stack.js";

export type Step =
  "start_to_greeting" | "press_to_prompt_ask" | "prompt_to_image" | "start_to_image" | "topup";
export const STEPS: readonly Step[] = [
  "start_to_greeting",
  "press_to_prompt_ask",
  "prompt_to_image",
  "start_to_image",
  "topup",
];

interface Waiter {
  readonly matches: (message: TgMessage) => boolean;
  readonly resolve: (message: TgMessage) => void;
}

interface PendingReaction {
  readonly sinceMs: number;
  readonly queryId: string | undefined;
}

const SENDS = new Set(["sendMessage", "sendPhoto", "sendDocument", "sendInvoice"]);

/** Watches every call the bot makes; create it before the stack and pass `onCall` to the fake. */
export class CrowdObserver {
  readonly #waiters = new Map<number, Waiter[]>();
  readonly #reactions = new Map<number, PendingReaction>();
  readonly reactionMs: number[] = [];
  sendCalls = 0;
  /** Messages delivered to crowd users, and journeys finished: progress for long runs. */
  messages = 0;
  journeysDone = 0;
  tooManyRequests = 0;
  callbackAnswered = 0;
  callbackRefused = 0;
  /** Time of the first and the last message sent to a crowd user. */
  lastMessageAtMs = 0;

  readonly onCall = (call: TgCallRecord): void => {
    const doneMs = call.atMs + call.durationMs;
    const chatId = Number(call.params["chat_id"]);
    if (call.method === "answerCallbackQuery") {
      if (call.response?.ok === true) this.callbackAnswered++;
      else this.callbackRefused++;
      const queryId = call.params["callback_query_id"];
      for (const [chat, pending] of this.#reactions) {
        if (pending.queryId === queryId) this.#reacted(chat, doneMs);
      }
      return;
    }
    if (call.method === "sendChatAction" && call.response?.ok === true) {
      this.#reacted(chatId, doneMs);
      return;
    }
    if (!SENDS.has(call.method)) return;
    this.sendCalls++;
    if (call.response?.ok === false && call.response.error_code === 429) this.tooManyRequests++;
    if (call.response?.ok !== true) return;
    const message = call.response.result as TgMessage;
    this.#reacted(message.chat.id, doneMs);
    this.messages++;
    this.lastMessageAtMs = Math.max(this.lastMessageAtMs, doneMs);
    const waiters = this.#waiters.get(message.chat.id) ?? [];
    const index = waiters.findIndex((w) => w.matches(message));
    const waiter = waiters[index];
    if (waiter === undefined) return;
    waiters.splice(index, 1);
    waiter.resolve(message);
  };

  /** The next message to the chat that matches (register before causing it). */
  next(chatId: number, matches: (message: TgMessage) => boolean, timeoutMs: number): Promise<TgMessage> {
    return new Promise<TgMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`user ${chatId}: no expected message`)), timeoutMs);
      const list = this.#waiters.get(chatId) ?? [];
      list.push({
        matches,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
      this.#waiters.set(chatId, list);
    });
  }

  /** An update was injected now: its first visible effect (answer, chat action, message) is timed. */
  expectReaction(chatId: number, queryId?: string): void {
    this.#reactions.set(chatId, { sinceMs: Date.now(), queryId });
  }

  #reacted(chatId: number, atMs: number): void {
    const pending = this.#reactions.get(chatId);
    if (pending === undefined) return;
    this.#reactions.delete(chatId);
    this.reactionMs.push(Math.max(0, atMs - pending.sinceMs));
  }
}

export interface CrowdOptions {
  users: number;
  /** Users arrive evenly spread over this long. */
  arrivalMs: number;
  /** Every n-th user also tops up 100 ₽ (0 = nobody). */
  payEvery: number;
  firstUserId: number;
  /** Longest wait for one expected message. */
  stepTimeoutMs: number;
}

export interface CrowdRun {
  readonly userIds: number[];
  readonly payers: Set<number>;
  readonly steps: Record<Step, number[]>;
  readonly failures: string[];
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
}

const buttonData = (message: TgMessage, label: string): string => {
  for (const button of (message.reply_markup?.inline_keyboard ?? []).flat()) {
    if ("callback_data" in button && button.text.includes(label)) return button.callback_data;
  }
  throw new Error(`message ${message.message_id} has no button "${label}"`);
};
const linkOf = (message: TgMessage): string => {
  for (const button of (message.reply_markup?.inline_keyboard ?? []).flat()) {
    if ("url" in button) return button.url;
  }
  throw new Error(`message ${message.message_id} has no link`);
};
const textIs = (pattern: RegExp) => (m: TgMessage) => pattern.test(m.text ?? m.caption ?? "");

/** One user's journey; resolves with the time each step took. */
async function journey(
  stack: Stack,
  observer: CrowdObserver,
  userId: number,
  pays: boolean,
  timeoutMs: number,
): Promise<Partial<Record<Step, number>>> {
  const telegram = stack.telegram;
  const user = telegram.user({ id: userId, first_name: `Гость${userId}`, language_code: "ru" });
  const steps: Partial<Record<Step, number>> = {};
  const press = (message: TgMessage, label: string) => {
    const query = telegram.pressButton(user, message, buttonData(message, label));
    observer.expectReaction(userId, query.id);
  };
  const startedMs = Date.now();
  const greeted = observer.next(userId, textIs(/Привет/), timeoutMs);
  observer.expectReaction(userId);
  telegram.sendText(user, "/start");
  const greeting = await greeted;
  steps.start_to_greeting = Date.now() - startedMs;

  const pressedMs = Date.now();
  const asked = observer.next(userId, textIs(/Опишите картинку/), timeoutMs);
  press(greeting, "🎨");
  await asked;
  steps.press_to_prompt_ask = Date.now() - pressedMs;

  const promptMs = Date.now();
  const image = observer.next(userId, (m) => m.photo !== undefined, timeoutMs);
  observer.expectReaction(userId);
  telegram.sendText(user, `рыжая лиса в лесу №${userId}`);
  await image;
  steps.prompt_to_image = Date.now() - promptMs;
  steps.start_to_image = Date.now() - startedMs;
  if (!pays) return steps;

  const topUpMs = Date.now();
  const balance = observer.next(userId, textIs(/Баланс:/), timeoutMs);
  press(greeting, "💰");
  const invoice = observer.next(userId, textIs(/Счёт на 100 ₽/), timeoutMs);
  press(await balance, "100 ₽");
  const paymentId = linkOf(await invoice).split("/checkout/")[1] ?? "";
  const paid = observer.next(userId, textIs(/Оплата получена/), timeoutMs);
  stack.yookassa.pay(paymentId);
  await paid;
  steps.topup = Date.now() - topUpMs;
  return steps;
}

/** Plays the crowd; every failed journey is listed (never thrown), so the audit still runs. */
export async function runCrowd(
  stack: Stack,
  observer: CrowdObserver,
  options: CrowdOptions,
): Promise<CrowdRun> {
  const steps = Object.fromEntries(STEPS.map((s) => [s, [] as number[]])) as Record<Step, number[]>;
  const userIds = Array.from({ length: options.users }, (_, i) => options.firstUserId + i);
  const payers = new Set(userIds.filter((_, i) => options.payEvery > 0 && i % options.payEvery === 0));
  const failures: string[] = [];
  const startedAtMs = Date.now();
  const gapMs = options.users > 1 ? options.arrivalMs / (options.users - 1) : 0;
  await Promise.all(
    userIds.map(async (userId, index) => {
      await new Promise((resolve) => setTimeout(resolve, index * gapMs));
      try {
        const taken = await journey(stack, observer, userId, payers.has(userId), options.stepTimeoutMs);
        for (const step of STEPS) if (taken[step] !== undefined) steps[step].push(taken[step]);
        observer.journeysDone++;
      } catch (error) {
        failures.push(`user ${userId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
  return { userIds, payers, steps, failures, startedAtMs, finishedAtMs: observer.lastMessageAtMs };
}

export interface CrowdAudit {
  readonly wrongUsers: string[];
  readonly ledgerOk: boolean;
}

/**
 * Every user as the issue audits them: exactly the expected messages with one image, nothing held,
 * 3 free operations left, a payer's 100 credits there once (one top-up entry), the ledger verified.
 */
export async function auditCrowd(stack: Stack, run: CrowdRun): Promise<CrowdAudit> {
  const wrongUsers: string[] = [];
  for (const userId of run.userIds) {
    const pays = run.payers.has(userId);
    const sent = stack.telegram.sentMessages(userId);
    const photos = sent.filter((m) => m.photo !== undefined).length;
    const expected = pays ? 6 : 3;
    const balance = await stack.admin.wallet.getBalance({ userRef: `telegram:${userId}` });
    const statement = await stack.client.wallet.listTransactions({ userRef: `telegram:${userId}` });
    const topUps = statement.transactions.filter((t) => t.kind === TransactionKind.TOP_UP);
    const problems = [
      photos === 1 ? "" : `${photos} images`,
      sent.length === expected ? "" : `${sent.length} messages, expected ${expected}`,
      balance.creditsReserved === 0n && balance.freeOperationsReserved === 0n ? "" : "something still held",
      balance.freeOperationsAvailable === 3n ? "" : `${balance.freeOperationsAvailable} free operations`,
      balance.creditsAvailable === (pays ? 100n : 0n) ? "" : `${balance.creditsAvailable} credits`,
      topUps.length === (pays ? 1 : 0) ? "" : `${topUps.length} top-ups`,
    ].filter((p) => p !== "");
    if (problems.length > 0) wrongUsers.push(`user ${userId}: ${problems.join(", ")}`);
  }
  const verified = await stack.admin.wallet.verifyLedger({});
  return { wrongUsers, ledgerOk: verified.ok };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
