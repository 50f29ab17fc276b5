// Every message the bot sends goes through this queue. telegraf retries nothing outside getUpdates: a
// 429 or a 502 on sendMessage is simply thrown. The queue
//   - keeps each chat's messages in order (one in flight per chat; the head blocks the chat),
//   - paces each chat (a small burst, then about one message per interval) and the whole bot
//     (about 30 per second), as Telegram asks,
//   - honours 429's retry_after for that chat, retries 5xx and network failures a bounded number of
//     times with backoff, drops a chat's messages when the user blocked the bot (403) and a message
//     Telegram refuses (other 4xx), with a log line each,
//   - is bounded (in total and per chat, and in how long one message may wait), and drains within a
//     bound on shutdown.
import { setTimeout as sleep } from "node:timers/promises";
import { type Outgoing, TelegramCallError, type TelegramApi } from "./types.js";

export type DropReason = "blocked" | "rejected" | "gave_up" | "queue_full" | "shutdown";

export type SendResult =
  | { readonly status: "sent"; readonly messageId: number }
  | { readonly status: "dropped"; readonly reason: DropReason };

export interface SendQueueHooks {
  sent?(method: string): void;
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
  /** One message per this interval per chat once the burst is used; 0 = no per-chat pacing. */
  chatIntervalMs: number;
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
  readonly enqueuedAtMs: number;
  attempts: number;
  settled: boolean;
  readonly resolve: (result: SendResult) => void;
}

interface ChatQueue {
  readonly chatId: number;
  readonly items: Item[];
  readonly bucket: TokenBucket;
  pausedUntilMs: number;
  running: boolean;
}

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const DEFAULT_CHAT_QUEUE_MAX = 200;

/**
 * A token bucket that lends ahead: reserve() takes a token even when none is left and says how long
 * to wait for it, so concurrent senders queue up fairly instead of spinning.
 */
export class TokenBucket {
  #tokens: number;
  #lastMs: number;

  constructor(
    private readonly capacity: number,
    /** Tokens per millisecond; Infinity = no limit. */
    private readonly ratePerMs: number,
    nowMs: number,
  ) {
    this.#tokens = capacity;
    this.#lastMs = nowMs;
  }

  reserve(nowMs: number): number {
    if (!Number.isFinite(this.ratePerMs)) return 0;
    this.#tokens = Math.min(this.capacity, this.#tokens + (nowMs - this.#lastMs) * this.ratePerMs);
    this.#lastMs = nowMs;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.ratePerMs);
  }
}

export class SendQueue {
  readonly #options: SendQueueOptions;
  readonly #chats = new Map<number, ChatQueue>();
  readonly #global: TokenBucket;
  readonly #abort = new AbortController();
  readonly #now: () => number;
  #depth = 0;
  #closing = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: SendQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#global = new TokenBucket(options.globalPerSecond, options.globalPerSecond / 1000, this.#now());
  }

  /** Messages waiting or in flight. */
  get depth(): number {
    return this.#depth;
  }

  /**
   * Queues a message behind the chat's earlier ones. Never rejects: the result says whether it was
   * delivered or why it was dropped. Callers that must know (a job result before its ack) await it;
   * conversation replies need not.
   */
  enqueue(message: Outgoing): Promise<SendResult> {
    if (this.#closing) return this.#drop("shutdown");
    if (this.#depth >= this.#options.queueMax) return this.#drop("queue_full", message.chatId);
    let chat = this.#chats.get(message.chatId);
    if (chat === undefined) {
      const interval = this.#options.chatIntervalMs;
      chat = {
        chatId: message.chatId,
        items: [],
        bucket: new TokenBucket(
          this.#options.chatBurst,
          interval === 0 ? Infinity : 1 / interval,
          this.#now(),
        ),
        pausedUntilMs: 0,
        running: false,
      };
      this.#chats.set(message.chatId, chat);
    }
    if (chat.items.length >= (this.#options.chatQueueMax ?? DEFAULT_CHAT_QUEUE_MAX)) {
      return this.#drop("queue_full", message.chatId);
    }
    const result = new Promise<SendResult>((resolve) => {
      chat.items.push({ message, enqueuedAtMs: this.#now(), attempts: 0, settled: false, resolve });
    });
    this.#depth++;
    if (!chat.running) void this.#run(chat);
    return result;
  }

  /**
   * Stops taking messages and waits up to graceMs for the queued ones to go out; what is left then is
   * dropped ("shutdown"). Resolves true when everything was delivered or settled in time.
   */
  async close(graceMs: number): Promise<boolean> {
    this.#closing = true;
    if (this.#depth > 0) {
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      const timer = new Promise<"timeout">((resolve) => {
        const handle = setTimeout(() => resolve("timeout"), graceMs);
        void idle.then(() => clearTimeout(handle));
      });
      if ((await Promise.race([idle, timer])) === "timeout") {
        this.#options.log.warn(
          { undelivered: this.#depth },
          "send queue not drained in time; dropping the rest",
        );
        this.#abort.abort();
        for (const chat of this.#chats.values()) this.#dropAll(chat, "shutdown");
        return false;
      }
    }
    this.#abort.abort();
    return true;
  }

  #drop(reason: DropReason, chatId?: number): Promise<SendResult> {
    this.#options.hooks?.dropped?.(reason);
    if (reason === "queue_full")
      this.#options.log.warn({ chat_id: chatId }, "send queue full; message dropped");
    return Promise.resolve({ status: "dropped", reason });
  }

  async #run(chat: ChatQueue): Promise<void> {
    chat.running = true;
    try {
      for (;;) {
        const item = chat.items[0];
        if (item === undefined || this.#abort.signal.aborted) break;
        await this.#pause(chat.pausedUntilMs - this.#now());
        await this.#pause(chat.bucket.reserve(this.#now()));
        await this.#pause(this.#global.reserve(this.#now()));
        if (this.#abort.signal.aborted) break;
        await this.#attempt(chat, item);
      }
    } finally {
      chat.running = false;
      if (chat.items.length === 0) this.#chats.delete(chat.chatId);
    }
  }

  async #attempt(chat: ChatQueue, item: Item): Promise<void> {
    const method = item.message.kind === "text" ? "sendMessage" : "sendPhoto";
    try {
      const { messageId } = await this.#options.api.send(item.message);
      this.#options.hooks?.sent?.(method);
      this.#settle(chat, item, { status: "sent", messageId });
      return;
    } catch (error) {
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

  async #pause(ms: number): Promise<void> {
    if (ms <= 0 || this.#abort.signal.aborted) return;
    try {
      await sleep(ms, undefined, { signal: this.#abort.signal });
    } catch {
      // Aborted by close(): the loop sees the signal and stops.
    }
  }
}

function describe(error: unknown): Record<string, string> {
  return error instanceof Error ? { type: error.name, message: error.message } : { message: String(error) };
}
