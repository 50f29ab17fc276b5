// A local Telegram Bot API server for tests: the real telegraf client works against it unchanged
// (`new Telegraf(token, { telegram: { apiRoot: fake.apiRoot } })`). Tests play users (messages,
// button presses, photos, payments), inject failures, and assert on every call the bot made.
import { once } from "node:events";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { TelegramApiError, notFound, tooLarge, tooManyRequests, unauthorized } from "./api-error.js";
import { handleControl } from "./control-http.js";
import { DEFAULT_FLOOD_LIMITS, FailurePlan, FloodLimiter } from "./failures.js";
import type { FailureMatch, FloodLimits, TgFailure } from "./failures.js";
import { BodyTooLargeError, parseParams, readBody } from "./http-body.js";
import type { Params } from "./http-body.js";
import { sniffImage } from "./images.js";
import { callbackDataOf } from "./markup.js";
import { METHODS, chatIdOf, mimeTypeOf } from "./methods.js";
import type { MethodContext, MethodSpec } from "./methods.js";
import { formatText } from "./parse-mode.js";
import { Store } from "./store.js";
import type { CallbackAnswer, ChatState, FakeUserInit, PreCheckoutAnswer, StoredMessage } from "./store.js";
import type {
  TgBotUser,
  TgCallbackQuery,
  TgEnvelope,
  TgMessage,
  TgMinorUnits,
  TgPreCheckoutQuery,
  TgReplyKeyboardMarkup,
  TgSuccessfulPayment,
  TgUpdate,
  TgUser,
  TgWebhookInfo,
} from "./types.js";
import { Updates } from "./updates.js";
import type { WebhookDeliveryRecord } from "./updates.js";

export interface FakeTelegramOptions {
  /** The bot token, "<bot id>:<secret>"; requests with any other token get 401. */
  token: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  botUsername?: string;
  botFirstName?: string;
  /** update_id of the first update; random by default, as bots must not assume a start value. */
  firstUpdateId?: number;
  /** How long a callback query can be answered (default 15 000 ms). */
  callbackQueryTtlMs?: number;
  /** How long a pre-checkout query can be answered (default 10 000 ms, as in the payments docs). */
  preCheckoutTtlMs?: number;
  /** Upper bound on getUpdates' timeout (default 50 s). */
  maxPollTimeoutS?: number;
  /** Delays between webhook delivery attempts; attempts = length + 1 (default 50, 100, 200, 400, 800 ms). */
  webhookRetryDelaysMs?: readonly number[];
  webhookTimeoutMs?: number;
  /**
   * Deliver webhook updates to this origin instead of the registered https URL's (path and query
   * are kept): telegraf's createWebhook always registers https://<domain>/<path>, and a test's
   * server speaks plain http on 127.0.0.1.
   */
  webhookOrigin?: string;
  /** Simulated flood limits; off by default. `true` means 1 msg/s per chat and 30 msg/s overall. */
  floodLimits?: Partial<FloodLimits> | boolean;
  maxBodyBytes?: number;
  maxRecordedCalls?: number;
  maxPendingUpdates?: number;
  /**
   * Clock in epoch ms for message dates, query deadlines, flood windows and call times (default
   * Date.now). Tests of time rules pass a settable clock instead of sleeping. Long-poll and webhook
   * timers still run on real time.
   */
  clock?: () => number;
  /** Called after each recorded call (the bin logs them). */
  onCall?: (call: TgCallRecord) => void;
}

/** One call the bot made, as the fake saw and answered it. */
export interface TgCallRecord {
  readonly seq: number;
  /** Canonical method name ("sendMessage"), or the path segment as sent for unknown methods. */
  readonly method: string;
  /** Parsed parameters; uploaded files are TgUploadedFile with their exact bytes. */
  readonly params: Params;
  readonly via: "http" | "webhook-reply";
  /** HTTP method of the request ("POST", "GET"); "" for webhook replies. */
  readonly httpMethod: string;
  readonly atMs: number;
  readonly durationMs: number;
  /** A JSON snapshot of what was answered; undefined when the socket was dropped before handling. */
  readonly response: TgEnvelope | undefined;
  /** The client never received a response (injected "drop"). */
  readonly dropped: boolean;
  /** The injected failure that shaped this call, if any. */
  readonly injected?: TgFailure["type"];
}

export type PayInvoiceOutcome =
  | { status: "paid"; query: TgPreCheckoutQuery; message: TgMessage; chargeId: string }
  | { status: "declined"; query: TgPreCheckoutQuery; errorMessage: string }
  | { status: "unanswered"; query: TgPreCheckoutQuery };

type UserRef = FakeUserInit | number;

const HTML_5XX: Record<number, string> = {
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function envelopeStatus(envelope: TgEnvelope): number {
  return envelope.ok ? 200 : envelope.error_code;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export class FakeTelegram {
  readonly token: string;
  /** getMe's answer. */
  readonly bot: TgBotUser;
  private readonly options: FakeTelegramOptions;
  private readonly server: Server;
  private readonly store: Store;
  private readonly updates: Updates;
  private readonly failures = new FailurePlan();
  private flood: FloodLimiter | undefined;
  private readonly callLog: TgCallRecord[] = [];
  private readonly deliveries: WebhookDeliveryRecord[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly closing = new AbortController();
  private seq = 0;
  private chargeCounter = 0;
  private readonly now: () => number;

  private constructor(options: FakeTelegramOptions) {
    const botId = /^(\d{1,20}):[A-Za-z0-9_-]{1,200}$/.exec(options.token)?.[1];
    if (botId === undefined) throw new Error('FakeTelegram: token must look like "123456:ABC-def_ghi"');
    this.options = options;
    this.token = options.token;
    this.now = options.clock ?? (() => Date.now());
    this.bot = {
      id: Number(botId),
      is_bot: true,
      first_name: options.botFirstName ?? "Billing Test Bot",
      username: options.botUsername ?? "billing_test_bot",
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
    this.store = new Store(this.bot);
    this.updates = new Updates({
      firstUpdateId: options.firstUpdateId ?? 100_000_000 + Math.floor(Math.random() * 800_000_000),
      maxPendingUpdates: options.maxPendingUpdates ?? 10_000,
      maxPollTimeoutS: options.maxPollTimeoutS ?? 50,
      webhookRetryDelaysMs: options.webhookRetryDelaysMs ?? [50, 100, 200, 400, 800],
      webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
      webhookOrigin: options.webhookOrigin,
      now: () => this.now(),
      executeWebhookReply: (method, params) => this.executeWebhookReply(method, params),
      onDelivery: (record) => {
        this.deliveries.push(record);
        if (this.deliveries.length > 10_000) this.deliveries.shift();
        this.notify();
      },
      onChange: () => this.notify(),
    });
    this.setFloodLimits(options.floodLimits ?? false);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        console.error("fake-telegram: unexpected error", error);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
  }

  /** Starts a fake on options.port (0 = any free port) and resolves once it listens. */
  static async start(options: FakeTelegramOptions): Promise<FakeTelegram> {
    const fake = new FakeTelegram(options);
    fake.server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
    await once(fake.server, "listening");
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The value for telegraf's `telegram.apiRoot`, e.g. "http://127.0.0.1:40123". */
  get apiRoot(): string {
    const host = this.options.host ?? "127.0.0.1";
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await this.updates.close();
    await closed;
  }

  // ---- users and their events ----

  private userRef(ref: UserRef): FakeUserInit {
    return typeof ref === "number" ? { id: ref } : ref;
  }

  /** Registers (or updates) a user; any injection with an unknown user registers it too. */
  user(init: FakeUserInit): TgUser {
    return this.store.upsertUser(init);
  }

  private chatOf(user: TgUser): ChatState {
    const state = this.store.chats.get(user.id);
    if (state === undefined) throw new Error(`no chat for user ${user.id}`);
    return state;
  }

  private userMessage(ref: UserRef, fill: (message: TgMessage, chat: ChatState) => void): TgMessage {
    const user = this.store.upsertUser(this.userRef(ref));
    const state = this.chatOf(user);
    const stored = this.store.addMessage(
      state,
      "user",
      (messageId, date) => {
        const message: TgMessage = { message_id: messageId, from: user, chat: { ...state.chat }, date };
        fill(message, state);
        return message;
      },
      this.now(),
    );
    this.updates.enqueue({ message: stored.message });
    return clone(stored.message);
  }

  private replyRef(state: ChatState, replyTo: TgMessage | number | undefined): TgMessage | undefined {
    if (replyTo === undefined) return undefined;
    const id = typeof replyTo === "number" ? replyTo : replyTo.message_id;
    const target = state.messages.get(id);
    if (target === undefined) throw new Error(`no message ${id} in chat ${state.chat.id}`);
    const { reply_to_message: _nested, ...flat } = target.message;
    return flat;
  }

  /** The user sends a text; "/start payload" gets a bot_command entity at offset 0, like real clients. */
  sendText(user: UserRef, text: string, opts: { replyTo?: TgMessage | number } = {}): TgMessage {
    const formatted = formatText(text, undefined, undefined);
    if (formatted.text.length === 0 || formatted.text.length > 4096)
      throw new RangeError("text must be 1..4096 characters");
    return this.userMessage(user, (m, state) => {
      const reply = this.replyRef(state, opts.replyTo);
      if (reply !== undefined) m.reply_to_message = reply;
      m.text = formatted.text;
      if (formatted.entities.length > 0) m.entities = formatted.entities;
    });
  }

  /**
   * The user taps an inline button of a message the bot sent. Refuses buttons the message does not
   * have (a real client cannot press them) unless `force` is set, e.g. to replay stale callback data.
   */
  pressButton(
    user: UserRef,
    message: TgMessage | number,
    callbackData: string,
    opts: { force?: boolean } = {},
  ): TgCallbackQuery {
    const from = this.store.upsertUser(this.userRef(user));
    const state = this.chatOf(from);
    const id = typeof message === "number" ? message : message.message_id;
    const stored = state.messages.get(id);
    if (stored === undefined || stored.deleted || stored.sender !== "bot") {
      throw new Error(`chat ${from.id} has no bot message ${id} to press a button on`);
    }
    const available = callbackDataOf(stored.message.reply_markup);
    if (opts.force !== true && !available.includes(callbackData)) {
      throw new Error(
        `message ${id} has no button with callback_data ${JSON.stringify(callbackData)}; it has ${JSON.stringify(available)}`,
      );
    }
    const query: TgCallbackQuery = {
      id: this.store.nextQueryId(),
      from,
      message: clone(stored.message),
      chat_instance: state.chatInstance,
      data: callbackData,
    };
    this.store.addCallbackQuery(query, this.now());
    this.updates.enqueue({ callback_query: query });
    return clone(query);
  }

  /** The user sends a photo (PNG/JPEG/GIF/WebP bytes, or give width/height). photo[] is smallest first. */
  sendPhoto(
    user: UserRef,
    bytes: Uint8Array,
    opts: { caption?: string; width?: number; height?: number; replyTo?: TgMessage | number } = {},
  ): TgMessage {
    const info = sniffImage(bytes);
    const width = opts.width ?? info?.width;
    const height = opts.height ?? info?.height;
    if (width === undefined || height === undefined)
      throw new Error("sendPhoto: not an image; pass width and height");
    const sizes = this.store.addPhoto(Buffer.from(bytes), width, height);
    return this.userMessage(user, (m, state) => {
      const reply = this.replyRef(state, opts.replyTo);
      if (reply !== undefined) m.reply_to_message = reply;
      m.photo = sizes;
      this.fillCaption(m, opts.caption);
    });
  }

  /** The user sends a file as a document. */
  sendDocument(
    user: UserRef,
    bytes: Uint8Array,
    opts: { fileName: string; mimeType?: string; caption?: string },
  ): TgMessage {
    const mimeType = opts.mimeType ?? mimeTypeOf(opts.fileName, "application/octet-stream");
    const record = this.store.addDocument(Buffer.from(bytes), opts.fileName, mimeType);
    return this.userMessage(user, (m) => {
      m.document = {
        file_id: record.fileId,
        file_unique_id: record.fileUniqueId,
        file_name: opts.fileName,
        mime_type: mimeType,
        file_size: record.bytes.length,
      };
      this.fillCaption(m, opts.caption);
    });
  }

  private fillCaption(m: TgMessage, caption: string | undefined): void {
    if (caption === undefined || caption === "") return;
    const formatted = formatText(caption, undefined, undefined);
    if (formatted.text.length > 1024) throw new RangeError("caption must be at most 1024 characters");
    m.caption = formatted.text;
    if (formatted.entities.length > 0) m.caption_entities = formatted.entities;
  }

  /** A pre_checkout_query update; the bot must answer it with answerPreCheckoutQuery in time. */
  preCheckoutQuery(
    user: UserRef,
    order: { currency: string; total_amount: TgMinorUnits; invoice_payload: string },
  ): TgPreCheckoutQuery {
    const from = this.store.upsertUser(this.userRef(user));
    const query: TgPreCheckoutQuery = { id: this.store.nextQueryId(), from, ...order };
    this.store.addPreCheckoutQuery(query, this.now());
    this.updates.enqueue({ pre_checkout_query: query });
    return clone(query);
  }

  /** A message with successful_payment; the charge can then be refunded with refundStarPayment. */
  successfulPayment(
    user: UserRef,
    payment: Omit<TgSuccessfulPayment, "telegram_payment_charge_id" | "provider_payment_charge_id"> &
      Partial<Pick<TgSuccessfulPayment, "telegram_payment_charge_id" | "provider_payment_charge_id">>,
  ): TgMessage {
    const chargeId =
      payment.telegram_payment_charge_id ?? `stxfake${Date.now().toString(36)}${++this.chargeCounter}`;
    const full: TgSuccessfulPayment = {
      ...payment,
      telegram_payment_charge_id: chargeId,
      provider_payment_charge_id: payment.provider_payment_charge_id ?? "",
    };
    const from = this.userRef(user);
    this.store.addCharge({
      chargeId,
      userId: from.id,
      currency: full.currency,
      totalAmount: full.total_amount,
      refunded: false,
    });
    return this.userMessage(from, (m) => {
      m.successful_payment = full;
    });
  }

  /**
   * The whole in-Telegram payment of an invoice the bot sent: pre_checkout_query, wait for the bot's
   * answer (up to preCheckoutTtlMs or opts.timeoutMs), then successful_payment when it said ok.
   */
  async payInvoice(
    user: UserRef,
    invoice: TgMessage | number,
    opts: { timeoutMs?: number } = {},
  ): Promise<PayInvoiceOutcome> {
    const from = this.store.upsertUser(this.userRef(user));
    const id = typeof invoice === "number" ? invoice : invoice.message_id;
    const stored = this.chatOf(from).messages.get(id);
    const details = stored?.message.invoice;
    if (stored === undefined || details === undefined || stored.invoicePayload === undefined) {
      throw new Error(`chat ${from.id} has no invoice message ${id}`);
    }
    const order = {
      currency: details.currency,
      total_amount: details.total_amount,
      invoice_payload: stored.invoicePayload,
    };
    const query = this.preCheckoutQuery(from, order);
    const timeoutMs = opts.timeoutMs ?? this.options.preCheckoutTtlMs ?? 10_000;
    const answer = await this.waitFor(
      () => this.store.preCheckoutQueries.get(query.id)?.answer,
      timeoutMs,
    ).catch(() => undefined);
    if (answer === undefined) return { status: "unanswered", query };
    if (!answer.ok) return { status: "declined", query, errorMessage: answer.error_message ?? "" };
    const message = this.successfulPayment(from, order);
    const chargeId = message.successful_payment?.telegram_payment_charge_id ?? "";
    return { status: "paid", query, message, chargeId };
  }

  /**
   * Queues any update as is; update_id is assigned unless given. Its `from` user (if any) is
   * registered so the bot can answer. Nothing else is validated: this is the escape hatch.
   */
  injectUpdate(update: Omit<TgUpdate, "update_id"> & { update_id?: number }): TgUpdate {
    const types = Object.keys(update).filter((k) => k !== "update_id");
    const body = types.length === 1 && types[0] !== undefined ? update[types[0]] : undefined;
    if (typeof body !== "object" || body === null) {
      throw new Error("an update carries exactly one object: message, callback_query, …");
    }
    const from = (body as { from?: Partial<TgUser> }).from;
    if (from !== undefined && typeof from.id === "number" && from.is_bot !== true) {
      this.store.upsertUser({ ...from, id: from.id });
    }
    return clone(this.updates.enqueue(clone(update)));
  }

  /**
   * The user blocks the bot: sends now get 403 "Forbidden: bot was blocked by the user". Like
   * Telegram, a my_chat_member update (status "kicked") is sent unless emitUpdate is false.
   */
  blockUser(user: UserRef, opts: { emitUpdate?: boolean } = {}): void {
    this.setBlocked(user, true, opts.emitUpdate ?? true);
  }

  unblockUser(user: UserRef, opts: { emitUpdate?: boolean } = {}): void {
    this.setBlocked(user, false, opts.emitUpdate ?? true);
  }

  private setBlocked(ref: UserRef, blocked: boolean, emitUpdate: boolean): void {
    const user = this.store.upsertUser(this.userRef(ref));
    if (this.store.blocked.has(user.id) === blocked) return;
    if (blocked) this.store.blocked.add(user.id);
    else this.store.blocked.delete(user.id);
    if (!emitUpdate) return;
    const member = (status: "member" | "kicked") =>
      status === "kicked"
        ? { user: this.store.botUser, status, until_date: 0 }
        : { user: this.store.botUser, status };
    this.updates.enqueue({
      my_chat_member: {
        chat: { ...this.chatOf(user).chat },
        from: user,
        date: Math.floor(this.now() / 1000),
        old_chat_member: member(blocked ? "member" : "kicked"),
        new_chat_member: member(blocked ? "kicked" : "member"),
      },
    });
  }

  // ---- failures ----

  /** The next `times` calls of these methods (optionally to one chat) fail with `failure`. */
  failNext(
    methods: string | readonly string[],
    failure: TgFailure,
    opts: { times?: number; chatId?: number } = {},
  ): void {
    const match: FailureMatch = opts.chatId === undefined ? { methods } : { methods, chatId: opts.chatId };
    this.failures.failNext(match, failure, opts.times ?? 1);
  }

  /** Every (or every `every`-th) matching call fails until stopStorms(). methods may be "*". */
  storm(
    methods: string | readonly string[],
    failure: TgFailure,
    opts: { every?: number; chatId?: number } = {},
  ): void {
    const match: FailureMatch = opts.chatId === undefined ? { methods } : { methods, chatId: opts.chatId };
    this.failures.storm(match, failure, opts.every ?? 1);
  }

  stopStorms(): void {
    this.failures.stopStorms();
  }

  /** Drops queued failures and storms (not flood limits or blocked users). */
  clearFailures(): void {
    this.failures.clear();
  }

  /** Turns simulated flood limits on (true = Telegram's 1/s per chat, 30/s overall) or off. */
  setFloodLimits(limits: Partial<FloodLimits> | boolean | null): void {
    this.flood =
      limits === false || limits === null
        ? undefined
        : new FloodLimiter({ ...DEFAULT_FLOOD_LIMITS, ...(limits === true ? {} : limits) });
  }

  /** The next `count` updates are each delivered twice with the same update_id. */
  duplicateNextUpdates(count = 1): void {
    this.updates.duplicateNext(count);
  }

  /** Delivers a past update once more with its original update_id. */
  redeliverUpdate(updateId: number): void {
    this.updates.redeliver(updateId);
  }

  /** See FakeTelegramOptions.webhookOrigin. */
  setWebhookOrigin(origin: string | undefined): void {
    this.updates.setWebhookOrigin(origin);
  }

  // ---- observation ----

  /** Recorded calls, oldest first; `method` filters case-insensitively. */
  calls(method?: string): TgCallRecord[] {
    if (method === undefined) return [...this.callLog];
    const wanted = method.toLowerCase();
    return this.callLog.filter((c) => c.method.toLowerCase() === wanted);
  }

  /** Messages the bot sent to the chat and has not deleted, as they are now (after edits). */
  sentMessages(chatId: number): TgMessage[] {
    return this.chatMessages(chatId)
      .filter((m) => m.sender === "bot" && !m.deleted)
      .map((m) => m.message);
  }

  /** Every message of the chat in both directions, including deleted ones and earlier versions. */
  chatMessages(chatId: number): StoredMessage[] {
    const state = this.store.chats.get(chatId);
    return state === undefined ? [] : clone([...state.messages.values()]);
  }

  message(chatId: number, messageId: number): StoredMessage | undefined {
    const stored = this.store.chats.get(chatId)?.messages.get(messageId);
    return stored === undefined ? undefined : clone(stored);
  }

  /** The reply keyboard the bot last showed in the chat (null if none or removed). */
  replyKeyboard(chatId: number): TgReplyKeyboardMarkup | null {
    return clone(this.store.chats.get(chatId)?.replyKeyboard ?? null);
  }

  /**
   * The command menu the bot registered with setMyCommands for users of `languageCode` (omitted =
   * the menu for every other language), in the default scope; undefined when none was set.
   */
  myCommands(languageCode?: string): { command: string; description: string }[] | undefined {
    const commands = this.store.commands.get(`default::${languageCode ?? ""}`);
    return commands === undefined
      ? undefined
      : (clone(commands) as { command: string; description: string }[]);
  }

  isBlocked(userId: number): boolean {
    return this.store.blocked.has(userId);
  }

  /** The stored bytes of a file (any photo size or document). */
  fileBytes(fileId: string): Buffer | undefined {
    return this.store.files.get(fileId)?.bytes;
  }

  /** The bytes of a message's photo (largest size) or document. */
  mediaBytes(message: TgMessage): Buffer {
    const fileId = message.photo?.[message.photo.length - 1]?.file_id ?? message.document?.file_id;
    const bytes = fileId === undefined ? undefined : this.fileBytes(fileId);
    if (bytes === undefined) throw new Error(`message ${message.message_id} has no stored photo or document`);
    return bytes;
  }

  callbackAnswer(callbackQueryId: string): CallbackAnswer | undefined {
    const answer = this.store.callbackQueries.get(callbackQueryId)?.answer;
    return answer === undefined ? undefined : { ...answer };
  }

  preCheckoutAnswer(queryId: string): PreCheckoutAnswer | undefined {
    const answer = this.store.preCheckoutQueries.get(queryId)?.answer;
    return answer === undefined ? undefined : { ...answer };
  }

  isRefunded(chargeId: string): boolean {
    return this.store.charges.get(chargeId)?.refunded ?? false;
  }

  webhookDeliveries(): WebhookDeliveryRecord[] {
    return [...this.deliveries];
  }

  webhookInfo(): TgWebhookInfo {
    return this.updates.webhookInfo();
  }

  pendingUpdateCount(): number {
    return this.updates.pendingCount();
  }

  /** Whether a getUpdates long poll is waiting right now (a polling bot is connected and idle). */
  isPolling(): boolean {
    return this.updates.isPolling();
  }

  /**
   * Resolves with the probe's first truthy value, re-checking after every call, update and webhook
   * delivery, and every 20 ms for state outside the fake (e.g. what a bot handler recorded); rejects
   * after timeoutMs.
   */
  async waitFor<T>(
    probe: () => T | undefined | null | false,
    timeoutMs = 5_000,
    label = "condition",
  ): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(ticker);
        this.listeners.delete(check);
      };
      const check = (): void => {
        let value: T | undefined | null | false;
        try {
          value = probe();
        } catch (error) {
          done();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (value !== undefined && value !== null && value !== false) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`fake-telegram: timed out after ${timeoutMs} ms waiting for ${label}`));
      }, timeoutMs);
      const ticker = setInterval(check, 20);
      this.listeners.add(check);
      check();
    });
  }

  /** The first recorded call of `method` (matching `predicate`) with seq > afterSeq. */
  async waitForCall(
    method: string,
    predicate: (call: TgCallRecord) => boolean = () => true,
    opts: { timeoutMs?: number; afterSeq?: number } = {},
  ): Promise<TgCallRecord> {
    const after = opts.afterSeq ?? 0;
    return await this.waitFor(
      () => this.calls(method).find((c) => c.seq > after && predicate(c)),
      opts.timeoutMs,
      `a ${method} call`,
    );
  }

  /** The first message the bot sent to the chat that matches `predicate`. */
  async waitForMessage(
    chatId: number,
    predicate: (message: TgMessage) => boolean = () => true,
    timeoutMs?: number,
  ): Promise<TgMessage> {
    return await this.waitFor(
      () => this.sentMessages(chatId).find(predicate),
      timeoutMs,
      `a message to chat ${chatId}`,
    );
  }

  /** The seq of the last recorded call, to wait for calls made after this point. */
  lastSeq(): number {
    return this.seq;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    if (url.pathname.startsWith("/__control/")) {
      await handleControl(this, req, res, url);
      return;
    }
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file !== null) {
      this.serveFile(res, decodeURIComponent(file[1] ?? ""), decodeURIComponent(file[2] ?? ""));
      return;
    }
    const call = /^\/bot([^/]*)\/([^/]*)$/.exec(url.pathname);
    if (call === null) {
      this.respond(res, notFound().toEnvelope());
      return;
    }
    await this.handleMethod(req, res, url, decodeURIComponent(call[1] ?? ""), call[2] ?? "");
  }

  private serveFile(res: ServerResponse, token: string, filePath: string): void {
    if (token !== this.token) {
      this.respond(res, unauthorized().toEnvelope());
      return;
    }
    const record = this.store.filesByPath.get(filePath);
    if (record === undefined) {
      this.respond(res, notFound().toEnvelope());
      return;
    }
    const image = sniffImage(record.bytes);
    res.writeHead(200, {
      "content-type":
        image !== undefined ? `image/${image.format}` : (record.mimeType ?? "application/octet-stream"),
      "content-length": record.bytes.length,
    });
    res.end(record.bytes);
  }

  private respond(
    res: ServerResponse,
    envelope: TgEnvelope,
    extraHeaders: Record<string, string> = {},
  ): void {
    if (res.destroyed || res.headersSent) return;
    const body = JSON.stringify(envelope);
    res.writeHead(envelopeStatus(envelope), {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...extraHeaders,
    });
    res.end(body);
  }

  private record(call: Omit<TgCallRecord, "seq">): void {
    const record: TgCallRecord = { seq: ++this.seq, ...call };
    this.callLog.push(record);
    if (this.callLog.length > (this.options.maxRecordedCalls ?? 10_000)) this.callLog.shift();
    this.options.onCall?.(record);
    this.notify();
  }

  private async handleMethod(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    token: string,
    methodName: string,
  ): Promise<void> {
    const atMs = this.now();
    const started = performance.now();
    const httpMethod = req.method ?? "GET";
    const base = { method: methodName, via: "http" as const, httpMethod, atMs };
    const finish = (
      envelope: TgEnvelope | undefined,
      params: Params,
      extra: Partial<TgCallRecord> = {},
    ): void => {
      if (envelope !== undefined && extra.dropped !== true) this.respond(res, envelope);
      this.record({
        ...base,
        params,
        response: envelope === undefined ? undefined : clone(envelope),
        dropped: false,
        durationMs: Math.round(performance.now() - started),
        ...extra,
      });
    };
    if (token !== this.token) {
      finish(unauthorized().toEnvelope(), {});
      return;
    }
    let params: Params;
    try {
      const body = await readBody(req, this.options.maxBodyBytes ?? 50 * 1024 * 1024);
      params = await parseParams(req.headers["content-type"], body, url.searchParams);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        this.respond(res, tooLarge().toEnvelope(), { connection: "close" });
        finish(tooLarge().toEnvelope(), {});
        return;
      }
      if (error instanceof TelegramApiError) {
        finish(error.toEnvelope(), {});
        return;
      }
      throw error;
    }
    const spec = METHODS.get(methodName.toLowerCase());
    if (spec === undefined) {
      finish(notFound().toEnvelope(), params);
      return;
    }
    const named = { ...base, method: spec.name };
    const finishNamed = (envelope: TgEnvelope | undefined, extra: Partial<TgCallRecord> = {}): void => {
      if (envelope !== undefined && extra.dropped !== true) this.respond(res, envelope);
      this.record({
        ...named,
        params,
        response: envelope === undefined ? undefined : clone(envelope),
        dropped: false,
        durationMs: Math.round(performance.now() - started),
        ...extra,
      });
    };

    // The client going away (or the fake closing) ends long polls and slow answers.
    const gone = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) gone.abort();
    });
    const signal = AbortSignal.any([gone.signal, this.closing.signal]);
    const chatId = chatIdOf(params);
    const failure = this.failures.take(spec.name, chatId);
    if (failure !== undefined) {
      const injected = { injected: failure.type };
      switch (failure.type) {
        case "delay":
          await sleep(failure.delayMs, undefined, { signal }).catch(() => undefined);
          break;
        case "drop":
          if (!failure.applied) {
            req.socket.destroy();
            finishNamed(undefined, { ...injected, dropped: true });
            return;
          }
          break;
        case "tooManyRequests":
          finishNamed(tooManyRequests(failure.retryAfterS).toEnvelope(), injected);
          return;
        case "blocked":
          finishNamed(
            new TelegramApiError(403, "Forbidden: bot was blocked by the user").toEnvelope(),
            injected,
          );
          return;
        case "error":
          finishNamed(
            new TelegramApiError(failure.errorCode, failure.description, failure.parameters).toEnvelope(),
            injected,
          );
          return;
        case "serverError": {
          const status = failure.status ?? 502;
          const description = HTML_5XX[status] ?? "Internal Server Error";
          const envelope = new TelegramApiError(status, description).toEnvelope();
          if (failure.html === true) {
            const page = `<html>\r\n<head><title>${status} ${description}</title></head>\r\n<body>\r\n<center><h1>${status} ${description}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n`;
            res
              .writeHead(status, { "content-type": "text/html", "content-length": Buffer.byteLength(page) })
              .end(page);
            finishNamed(envelope, { ...injected, dropped: false });
            return;
          }
          finishNamed(envelope, injected);
          return;
        }
      }
    }
    if (signal.aborted) {
      finishNamed(undefined, { dropped: true, ...(failure === undefined ? {} : { injected: failure.type }) });
      return;
    }
    const envelope = await this.execute(spec, params, signal, chatId);
    if (failure?.type === "drop") {
      req.socket.destroy();
      finishNamed(envelope, { injected: "drop", dropped: true });
      return;
    }
    finishNamed(envelope, failure === undefined ? {} : { injected: failure.type });
  }

  private async execute(
    spec: MethodSpec,
    params: Params,
    signal: AbortSignal,
    chatId: number | undefined,
  ): Promise<TgEnvelope> {
    const ctx: MethodContext = {
      store: this.store,
      updates: this.updates,
      config: {
        callbackQueryTtlMs: this.options.callbackQueryTtlMs ?? 15_000,
        preCheckoutTtlMs: this.options.preCheckoutTtlMs ?? 10_000,
        urlFetchTimeoutMs: 10_000,
      },
      now: this.now,
      signal,
    };
    try {
      const limited = spec.sendsMessage && chatId !== undefined ? this.flood : undefined;
      const retryAfterS = limited?.check(chatId ?? 0, this.now());
      if (retryAfterS !== undefined) throw tooManyRequests(retryAfterS);
      const result = await spec.handler(ctx, params);
      limited?.record(chatId ?? 0, this.now());
      return ctx.description === undefined
        ? { ok: true, result }
        : { ok: true, result, description: ctx.description };
    } catch (error) {
      if (error instanceof TelegramApiError) return error.toEnvelope();
      console.error(`fake-telegram: ${spec.name} failed`, error);
      return { ok: false, error_code: 500, description: "Internal Server Error" };
    }
  }

  /** A method found in a webhook answer: executed and recorded, its result discarded. */
  private async executeWebhookReply(methodName: string, params: Params): Promise<void> {
    const atMs = this.now();
    const started = performance.now();
    const spec = METHODS.get(methodName.toLowerCase());
    const envelope =
      spec === undefined
        ? notFound().toEnvelope()
        : await this.execute(spec, params, this.closing.signal, chatIdOf(params));
    this.record({
      method: spec?.name ?? methodName,
      params,
      via: "webhook-reply",
      httpMethod: "",
      atMs,
      durationMs: Math.round(performance.now() - started),
      response: clone(envelope),
      dropped: false,
    });
  }
}

/** Starts a fake Telegram Bot API server; see FakeTelegramOptions and src/telegram/README.md. */
export async function startFakeTelegram(options: FakeTelegramOptions): Promise<FakeTelegram> {
  return await FakeTelegram.start(options);
}
