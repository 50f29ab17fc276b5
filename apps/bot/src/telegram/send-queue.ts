// Every message the bot sends goes through this queue. telegraf retries nothing outside getUpdates: a
// 429 or a 502 on sendMessage is simply thrown. The queue
//   - keeps each chat's messages in order (one in flight per chat; the head blocks the chat),
//   - spends Telegram's budget the way Telegram counts it: at most chatBurst messages per
//     chatIntervalMs to one chat and globalPerSecond per second overall, both as sliding windows
//     measured from when Telegram ANSWERED (a send counts from the moment it may have been recorded,
//     so network jitter can never squeeze two sends into one of Telegram's windows),
//   - serves chats with a "high" message first (job results, payment confirmations) so menus never
//     starve them; within a priority, chats go in the order they became ready,
//   - honours 429's retry_after for that chat, retries 5xx and network failures a bounded number of
//     times with backoff, drops a chat's messages when the user blocked the bot (403) and a message
//     Telegram refuses (other 4xx), with a log line and a counted reason each,
//   - is bounded (in total and per chat, and in how long one message may wait), and drains within a
//     bound on shutdown.
import { type Outgoing, sendMethodOf, TelegramCallError, type TelegramApi } from "./types.js";
import { SlidingWindow } from "./sliding-window.js";

export type DropReason = "blocked" | "rejected" | "gave_up" | "queue_full" | "shutdown";

export type SendResult =
  | { readonly status: "sent"; readonly messageId: number }
  | { readonly status: "dropped"; readonly reason: DropReason };

/** "high": what the user waits for and paid for (results, payments); "normal": conversation replies. */
export type SendPriority = "high" | "normal";

export interface SendQueueHooks {
  /** waitedMs: from queued to Telegram's answer; callMs: the API call alone. */
  sent?(method: string, priority: SendPriority, waitedMs: number, callMs: number): void;
  rateLimited?(retryAfterMs: number): void;
  retried?(reason: "server_error"): void;
  dropped?(reason: DropReason): void;
}

interface QueueLog {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface SendQueueOptions {
  api: Pick<TelegramApi, "send">;
  /** The per-chat window; 0 = no per-chat pacing. */
  chatIntervalMs: number;
  /** Messages to one chat per chatIntervalMs (Telegram: 1 per second). */
  chatBurst: number;
  globalPerSecond: number;
  /** Messages waiting in all chats together. */
  queueMax: number;
  /** Messages waiting in one chat. */
  chatQueueMax?: number;
  /** Attempts of one message on 5xx / network errors (429s are bounded by maxWaitMs instead). */
  maxAttempts: number;
  /** A message not delivered this long after it was queued is given up. */
  maxWaitMs: number;
  log: QueueLog;
  hooks?: SendQueueHooks;
  now?: () => number;
}

interface Item {
  readonly message: Outgoing;
  readonly priority: SendPriority;
  readonly enqueuedAtMs: number;
  attempts: number;
  settled: boolean;
  readonly resolve: (result: SendResult) => void;
}

interface ChatQueue {
  readonly chatId: number;
  readonly items: Item[];
  readonly window: SlidingWindow;
  /** 429 or backoff: nothing goes to this chat before then. */
  pausedUntilMs: number;
  inFlight: boolean;
  /** Waiting in a ready list for the global budget. */
  listed: boolean;
  /** Woken when its pause or window ends. */
  timer: NodeJS.Timeout | undefined;
}

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const DEFAULT_CHAT_QUEUE_MAX = 200;
const GLOBAL_WINDOW_MS = 1_000;

export class SendQueue {
  readonly #options: SendQueueOptions;
  readonly #chats = new Map<number, ChatQueue>();
  readonly #global: SlidingWindow;
  /** Chats whose head may go now but for the global budget, by priority, oldest first. */
  readonly #ready: Record<SendPriority, ChatQueue[]> = { high: [], normal: [] };
  readonly #now: () => number;
  #globalTimer: NodeJS.Timeout | undefined;
  #depth = 0;
  #closing = false;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: SendQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#global = new SlidingWindow(options.globalPerSecond, GLOBAL_WINDOW_MS);
  }

  /** Messages waiting or in flight. */
  get depth(): number {
    return this.#depth;
  }

  /**
   * Queues a message behind the chat's earlier ones. Never rejects: the result says whether it was
   * delivered or why it was dropped. Consumers that must know (a job result before its ack) await it;
   * conversation replies do not.
   */
  enqueue(message: Outgoing, priority: SendPriority = "normal"): Promise<SendResult> {
    if (this.#closing) return this.#drop("shutdown");
    if (this.#depth >= this.#options.queueMax) return this.#drop("queue_full", message.chatId);
    const chat = this.#chatOf(message.chatId);
    if (chat.items.length >= (this.#options.chatQueueMax ?? DEFAULT_CHAT_QUEUE_MAX)) {
      return this.#drop("queue_full", message.chatId);
    }
    const result = new Promise<SendResult>((resolve) => {
      chat.items.push({ message, priority, enqueuedAtMs: this.#now(), attempts: 0, settled: false, resolve });
    });
    this.#depth++;
    // A high message behind normal ones lifts its chat: the chat's order is kept, its turn comes sooner.
    if (chat.listed && priority === "high" && this.#ready.normal.includes(chat)) {
      this.#ready.normal.splice(this.#ready.normal.indexOf(chat), 1);
      this.#ready.high.push(chat);
    }
    this.#schedule(chat);
    this.#pump();
    return result;
  }

  /**
   * Stops taking messages and waits up to graceMs for the queued ones to go out; what is left then is
   * dropped ("shutdown"). Resolves true when everything was delivered or settled in time.
   */
  async close(graceMs: number): Promise<boolean> {
    this.#closing = true;
    let drained = true;
    if (this.#depth > 0) {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      let handle: NodeJS.Timeout | undefined;
      const timer = new Promise<"timeout">((resolve) => {
        handle = setTimeout(() => resolve("timeout"), graceMs);
      });
      drained = (await Promise.race([idle, timer])) !== "timeout";
      clearTimeout(handle);
      if (!drained) {
        this.#options.log.warn(
          { undelivered: this.#depth },
          "send queue not drained in time; dropping the rest",
        );
      }
    }
    this.#stopped = true;
    clearTimeout(this.#globalTimer);
    for (const chat of this.#chats.values()) {
      clearTimeout(chat.timer);
      this.#dropAll(chat, "shutdown");
    }
    return drained;
  }

  #chatOf(chatId: number): ChatQueue {
    let chat = this.#chats.get(chatId);
    if (chat === undefined) {
      const interval = this.#options.chatIntervalMs;
      chat = {
        chatId,
        items: [],
        window: new SlidingWindow(interval === 0 ? Infinity : this.#options.chatBurst, interval),
        pausedUntilMs: 0,
        inFlight: false,
        listed: false,
        timer: undefined,
      };
      this.#chats.set(chatId, chat);
    }
    return chat;
  }

  #drop(reason: DropReason, chatId?: number): Promise<SendResult> {
    this.#options.hooks?.dropped?.(reason);
    if (reason === "queue_full")
      this.#options.log.warn({ chat_id: chatId }, "send queue full; message dropped");
    return Promise.resolve({ status: "dropped", reason });
  }

  /**
   * Puts a chat with messages on a ready list now, or wakes it when its pause/window ends; forgets a
   * chat with nothing left to send once its window is over.
   */
  #schedule(chat: ChatQueue): void {
    if (this.#stopped || chat.inFlight || chat.listed || chat.timer !== undefined) return;
    const now = this.#now();
    const readyAtMs = Math.max(chat.pausedUntilMs, chat.window.freeAtMs(now));
    // An idle chat is kept until its window and pause are over: its next message must respect them.
    if (chat.items.length === 0 && readyAtMs <= now) {
      this.#chats.delete(chat.chatId);
      return;
    }
    if (readyAtMs > now) {
      chat.timer = setTimeout(() => {
        chat.timer = undefined;
        this.#schedule(chat);
        this.#pump();
      }, readyAtMs - now);
      return;
    }
    chat.listed = true;
    this.#ready[chat.items.some((item) => item.priority === "high") ? "high" : "normal"].push(chat);
  }

  /** Sends the heads of ready chats while the global budget allows, highest priority first. */
  #pump(): void {
    if (this.#stopped) return;
    for (;;) {
      const list = this.#ready.high.length > 0 ? this.#ready.high : this.#ready.normal;
      if (list.length === 0) return;
      const now = this.#now();
      const freeAtMs = this.#global.freeAtMs(now);
      if (freeAtMs > now) {
        // Budget used up: wake when the oldest send leaves the window (or when a send completes).
        if (this.#globalTimer === undefined && this.#global.inFlight === 0) {
          this.#globalTimer = setTimeout(() => {
            this.#globalTimer = undefined;
            this.#pump();
          }, freeAtMs - now);
        }
        return;
      }
      const chat = list.shift();
      if (chat === undefined) return;
      chat.listed = false;
      const item = chat.items[0];
      if (item === undefined) {
        this.#schedule(chat);
        continue;
      }
      chat.inFlight = true;
      chat.window.begin();
      this.#global.begin();
      void this.#attempt(chat, item).finally(() => {
        const done = this.#now();
        chat.window.end(done);
        this.#global.end(done);
        chat.inFlight = false;
        this.#schedule(chat);
        this.#pump();
      });
    }
  }

  async #attempt(chat: ChatQueue, item: Item): Promise<void> {
    const method = sendMethodOf(item.message);
    const startedMs = this.#now();
    try {
      const { messageId } = await this.#options.api.send(item.message);
      const answeredMs = this.#now();
      this.#options.hooks?.sent?.(
        method,
        item.priority,
        answeredMs - item.enqueuedAtMs,
        answeredMs - startedMs,
      );
      this.#settle(chat, item, { status: "sent", messageId });
      return;
    } catch (error) {
      this.#failed(chat, item, method, error);
    }
  }

  #failed(chat: ChatQueue, item: Item, method: string, error: unknown): void {
    const failure = error instanceof TelegramCallError ? error.failure : ({ kind: "transient" } as const);
    const context = { chat_id: chat.chatId, method, attempt: item.attempts + 1 };
    const waitedMs = this.#now() - item.enqueuedAtMs;
    switch (failure.kind) {
      case "rate_limited": {
        this.#options.hooks?.rateLimited?.(failure.retryAfterMs);
        if (waitedMs + failure.retryAfterMs > this.#options.maxWaitMs) {
          this.#options.log.warn(
            { ...context, waited_ms: waitedMs },
            "rate limited for too long; message dropped",
          );
          this.#settle(chat, item, { status: "dropped", reason: "gave_up" });
          return;
        }
        // The same message goes again after the pause; the chat's later messages wait behind it.
        chat.pausedUntilMs = Math.max(chat.pausedUntilMs, this.#now() + failure.retryAfterMs);
        return;
      }
      case "transient": {
        item.attempts++;
        if (item.attempts >= this.#options.maxAttempts || waitedMs > this.#options.maxWaitMs) {
          this.#options.log.error(
            { ...context, error: describe(error) },
            "send failed repeatedly; message dropped",
          );
          this.#settle(chat, item, { status: "dropped", reason: "gave_up" });
          return;
        }
        this.#options.hooks?.retried?.("server_error");
        const backoffMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (item.attempts - 1));
        chat.pausedUntilMs = this.#now() + backoffMs * (0.5 + Math.random() / 2);
        return;
      }
      case "forbidden":
        // The user blocked the bot: everything queued for them would fail the same way.
        this.#options.log.warn(
          { chat_id: chat.chatId, dropped: chat.items.length },
          "bot blocked by the user; dropping the chat's messages",
        );
        this.#dropAll(chat, "blocked");
        return;
      case "rejected":
      case "too_large":
        this.#options.log.error(
          { ...context, error: describe(error) },
          "Telegram refused the message; dropped",
        );
        this.#settle(chat, item, { status: "dropped", reason: "rejected" });
        return;
    }
  }

  #settle(chat: ChatQueue, item: Item, result: SendResult): void {
    // A send still in flight when close() gave up settles late: it was already counted as dropped.
    if (item.settled) return;
    item.settled = true;
    const index = chat.items.indexOf(item);
    if (index >= 0) chat.items.splice(index, 1);
    this.#depth--;
    if (result.status === "dropped") this.#options.hooks?.dropped?.(result.reason);
    item.resolve(result);
    if (this.#depth === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  #dropAll(chat: ChatQueue, reason: DropReason): void {
    for (const item of [...chat.items]) this.#settle(chat, item, { status: "dropped", reason });
  }
}

function describe(error: unknown): Record<string, string> {
  return error instanceof Error ? { type: error.name, message: error.message } : { message: String(error) };
}
