// What every flow works with: the services (billing, Telegram, jobs, memory) and the user at hand.
import type { BillingClient } from "@billing/client";
import type { BotConfig } from "@billing/config";
import type { Logger } from "@billing/observability";
import type { GenerationRequested, ImageRef } from "@billing/proto/events/v1/jobs_pb";
import type { Catalogue, Locale } from "./i18n/index.js";
import type { BotMemory } from "./memory.js";
import type { BotMetrics } from "./metrics.js";
import type { Cached } from "./cached.js";
import type { Redactor } from "./telegram/redact.js";
import type { OutOfBand } from "./telegram/out-of-band.js";
import type { SendQueue, SendResult } from "./telegram/send-queue.js";
import type { InlineKeyboard, Outgoing, TelegramApi } from "./telegram/types.js";
import type { GetPriceListResponse } from "@billing/proto/billing/v1/wallet_pb";
import type { ListTopUpOptionsResponse } from "@billing/proto/billing/v1/payments_pb";

/** The bot's side of the job streams (implemented over JetStream in jobs.ts). */
export interface JobGateway {
  /** Stores one of the user's photos for the job; the reference goes into GenerationRequested. */
  putInput(jobId: string, index: number, bytes: Uint8Array, mimeType: string): Promise<ImageRef>;
  /** Publishes jobs.generation.requested (Nats-Msg-Id = job id: publishing twice queues once). */
  publish(request: GenerationRequested): Promise<void>;
  /**
   * The bytes of a result, checked against its reference; undefined when the object is gone or does
   * not match (throws only on NATS trouble, so the event is retried).
   */
  readResult(ref: ImageRef): Promise<Uint8Array | undefined>;
  /**
   * Parks what the bot must not act on for operators (DEADLETTER stream, deadletter.<subject>);
   * resolves once JetStream stored it. Nats-Msg-Id = id: parking the same thing twice stores it once.
   */
  deadLetter(letter: {
    id: string;
    subject: string;
    reason: string;
    detail: string;
    payload: Uint8Array;
  }): Promise<void>;
}

export interface BotContext {
  readonly config: BotConfig;
  readonly log: Logger;
  readonly redact: Redactor;
  readonly api: TelegramApi;
  readonly sendQueue: SendQueue;
  /** Callback answers and chat actions: at once, outside the send queue. */
  readonly signals: OutOfBand;
  readonly billing: BillingClient;
  readonly jobs: JobGateway;
  readonly memory: BotMemory;
  readonly metrics: BotMetrics;
  readonly prices: Cached<GetPriceListResponse>;
  readonly topUpOptions: Cached<ListTopUpOptionsResponse>;
  /** The bot's Telegram id: idempotency keys carry it, so two bots sharing billing never collide. */
  readonly botId: number;
}

/** The user an update (or an event) is about, in their language. */
export interface UserScope {
  readonly userId: number;
  readonly chatId: number;
  readonly locale: Locale;
  readonly t: Catalogue;
  /** First name, for greetings. */
  readonly name: string;
}

export function userRef(userId: number): string {
  return `telegram:${userId}`;
}

/** The Telegram user id of a user_ref made by userRef(), or undefined for other users. */
export function telegramUserId(ref: string): number | undefined {
  const match = /^telegram:(\d{1,20})$/.exec(ref);
  if (match?.[1] === undefined) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

/**
 * Queues a reply for the user and returns at once: a handler decides and enqueues, it never waits for
 * Telegram (the queue keeps the chat's order, and logs and counts what it could not deliver).
 */
export function say(ctx: BotContext, chatId: number, text: string, keyboard?: InlineKeyboard): void {
  void ctx.sendQueue.enqueue(textMessage(chatId, text, keyboard));
}

/**
 * Queues a message the user is waiting for (a result, a payment) ahead of conversation replies, and
 * resolves once it was delivered or dropped: consumers ack their event only then.
 */
export function deliver(
  ctx: BotContext,
  chatId: number,
  text: string,
  keyboard?: InlineKeyboard,
): Promise<SendResult> {
  return ctx.sendQueue.enqueue(textMessage(chatId, text, keyboard), "high");
}

function textMessage(chatId: number, text: string, keyboard: InlineKeyboard | undefined): Outgoing {
  return {
    kind: "text",
    chatId,
    text: text.slice(0, 4096),
    ...(keyboard === undefined ? {} : { keyboard }),
  };
}
