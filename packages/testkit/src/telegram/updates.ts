// Update delivery, as the Bot API does it:
// - one queue of unconfirmed updates; getUpdates(offset) forgets every update with id < offset
//   (a negative offset keeps only the last -offset), so an update is redelivered until confirmed;
// - one long poll at a time: a new getUpdates terminates the waiting one with 409, and getUpdates
//   while a webhook is set is a 409;
// - with a webhook, updates are POSTed one at a time, in order, with the secret header; a non-2xx
//   answer or a network error is retried on a short bounded schedule; a `method` in a 2xx answer
//   is executed (the "webhook reply").
import { STATUS_CODES } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Errors } from "./api-error.js";
import { parseParams, readResponseBody } from "./http-body.js";
import type { Params } from "./http-body.js";
import type { TgUpdate, TgWebhookInfo } from "./types.js";

/** Sent when allowed_updates is empty or was never given (the Bot API's default set). */
const NOT_DEFAULT_UPDATES = new Set(["chat_member", "message_reaction", "message_reaction_count"]);
const MAX_REPLY_BYTES = 10 * 1024 * 1024;
const HISTORY_SIZE = 1_000;

export interface WebhookConfig {
  url: string;
  secretToken?: string;
  maxConnections: number;
  allowedUpdates?: string[];
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

export interface WebhookDeliveryRecord {
  readonly updateId: number;
  readonly attempt: number;
  /** The URL the request went to (after webhookOrigin rewriting). */
  readonly url: string;
  readonly secretTokenSent: boolean;
  readonly atMs: number;
  /** HTTP status, or undefined on a network error / timeout. */
  readonly status?: number;
  readonly error?: string;
  /** The method found in the answer body and executed, if any. */
  readonly replyMethod?: string;
}

export interface UpdatesOptions {
  firstUpdateId: number;
  maxPendingUpdates: number;
  maxPollTimeoutS: number;
  webhookRetryDelaysMs: readonly number[];
  webhookTimeoutMs: number;
  webhookOrigin: string | undefined;
  now: () => number;
  /** Runs a method found in a webhook answer and records it as a call. */
  executeWebhookReply: (method: string, params: Params) => Promise<void>;
  onDelivery: (record: WebhookDeliveryRecord) => void;
  onChange: () => void;
}

interface PendingPoll {
  wake(): void;
  terminate(error: Error): void;
}

function updateType(update: TgUpdate): string | undefined {
  return Object.keys(update).find((k) => k !== "update_id");
}

export class Updates {
  private nextUpdateId: number;
  /** Unconfirmed (polling) or undelivered (webhook) updates, in id order. */
  private pending: TgUpdate[] = [];
  /** Updates to deliver once more, regardless of offset (duplicate delivery). */
  private redeliveries: TgUpdate[] = [];
  private readonly history = new Map<number, TgUpdate>();
  private readonly markedDuplicate = new Set<number>();
  private duplicateBudget = 0;
  private allowedUpdates: string[] = [];
  private activePoll: PendingPoll | undefined;
  private webhookConfig: WebhookConfig | undefined;
  private webhookChanged = new AbortController();
  private pumping: Promise<void> | undefined;
  private readonly closing = new AbortController();
  droppedForBound = 0;
  webhookOrigin: string | undefined;

  private readonly options: UpdatesOptions;

  constructor(options: UpdatesOptions) {
    this.options = options;
    this.nextUpdateId = options.firstUpdateId;
    this.webhookOrigin = options.webhookOrigin;
  }

  get webhook(): Readonly<WebhookConfig> | undefined {
    return this.webhookConfig;
  }

  /** Whether a getUpdates long poll is waiting right now. */
  isPolling(): boolean {
    return this.activePoll !== undefined;
  }

  pendingCount(): number {
    return this.pending.length + this.redeliveries.length;
  }

  /** Assigns the next update_id (unless given), queues the update and wakes the poller / webhook. */
  enqueue(body: Omit<TgUpdate, "update_id"> & { update_id?: number }): TgUpdate {
    const update = { ...body, update_id: body.update_id ?? this.nextUpdateId } as TgUpdate;
    this.nextUpdateId = Math.max(this.nextUpdateId, update.update_id + 1);
    this.history.set(update.update_id, update);
    if (this.history.size > HISTORY_SIZE) {
      const oldest = this.history.keys().next();
      if (oldest.done !== true) this.history.delete(oldest.value);
    }
    if (!this.isAllowed(update)) return update; // never created, as on the real server
    if (this.duplicateBudget > 0) {
      this.duplicateBudget--;
      this.markedDuplicate.add(update.update_id);
    }
    this.pending.push(update);
    if (this.pending.length > this.options.maxPendingUpdates) {
      this.pending.shift();
      this.droppedForBound++;
    }
    this.afterChange();
    return update;
  }

  /** The next `count` updates will each be delivered twice with the same update_id. */
  duplicateNext(count: number): void {
    this.duplicateBudget = Math.min(1_000, this.duplicateBudget + Math.max(0, Math.floor(count)));
  }

  /** Delivers a past update (still in the bounded history) once more, with its original update_id. */
  redeliver(updateId: number): TgUpdate {
    const update = this.history.get(updateId);
    if (update === undefined) throw new Error(`update ${updateId} is not in the fake's history`);
    this.pushRedelivery(update);
    return update;
  }

  private pushRedelivery(update: TgUpdate): void {
    if (this.redeliveries.length >= 1_000) this.redeliveries.shift();
    this.redeliveries.push(update);
    this.afterChange();
  }

  private isAllowed(update: TgUpdate): boolean {
    const type = updateType(update);
    if (type === undefined) return false;
    const allowed = this.allowedUpdates;
    return allowed.length === 0 ? !NOT_DEFAULT_UPDATES.has(type) : allowed.includes(type);
  }

  private afterChange(): void {
    this.activePoll?.wake();
    if (this.webhookConfig !== undefined) this.startPump();
    this.options.onChange();
  }

  /** Removes an update that has been confirmed or delivered; schedules its duplicate if it was marked. */
  private settle(update: TgUpdate): void {
    if (this.markedDuplicate.delete(update.update_id)) this.pushRedelivery(update);
  }

  private confirm(offset: number): void {
    if (offset === 0) return;
    const keepFrom =
      offset > 0 ? this.pending.findIndex((u) => u.update_id >= offset) : this.pending.length + offset;
    const cut = keepFrom < 0 ? this.pending.length : Math.max(0, keepFrom);
    const confirmed = this.pending.splice(0, cut);
    for (const u of confirmed) this.settle(u);
  }

  private take(limit: number): TgUpdate[] {
    const again = this.redeliveries.splice(0, limit);
    return [...again, ...this.pending.slice(0, limit - again.length)];
  }

  dropPending(): void {
    this.pending = [];
    this.redeliveries = [];
    this.markedDuplicate.clear();
  }

  setAllowedUpdates(types: string[]): void {
    this.allowedUpdates = types;
  }

  async getUpdates(
    args: { offset?: number; limit: number; timeoutS: number; allowedUpdates?: string[] },
    signal: AbortSignal,
  ): Promise<TgUpdate[]> {
    if (this.webhookConfig !== undefined) throw Errors.webhookConflict();
    if (args.allowedUpdates !== undefined) this.allowedUpdates = args.allowedUpdates;
    if (args.offset !== undefined) this.confirm(args.offset);
    // The newer request wins; the one still waiting learns there is a second poller.
    this.activePoll?.terminate(Errors.pollerConflict());
    const limit = Math.min(100, Math.max(1, args.limit));
    const ready = this.take(limit);
    const timeoutS = Math.min(this.options.maxPollTimeoutS, Math.max(0, args.timeoutS));
    if (ready.length > 0 || timeoutS === 0 || signal.aborted) return ready;
    return await new Promise<TgUpdate[]>((resolve, reject) => {
      const finish = (outcome: () => void): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.closing.signal.removeEventListener("abort", onAbort);
        if (this.activePoll === poll) this.activePoll = undefined;
        outcome();
      };
      const onAbort = (): void => finish(() => resolve([]));
      const poll: PendingPoll = {
        wake: () => {
          const updates = this.take(limit);
          if (updates.length > 0) finish(() => resolve(updates));
        },
        terminate: (error) => finish(() => reject(error)),
      };
      const timer = setTimeout(() => finish(() => resolve([])), timeoutS * 1000);
      signal.addEventListener("abort", onAbort, { once: true });
      this.closing.signal.addEventListener("abort", onAbort, { once: true });
      this.activePoll = poll;
      this.options.onChange();
    });
  }

  setWebhook(config: WebhookConfig, dropPending: boolean): "set" | "already set" {
    const same =
      this.webhookConfig !== undefined &&
      this.webhookConfig.url === config.url &&
      this.webhookConfig.secretToken === config.secretToken;
    if (dropPending) this.dropPending();
    this.webhookConfig =
      same && this.webhookConfig !== undefined ? { ...this.webhookConfig, ...config } : config;
    this.activePoll?.terminate(Errors.webhookConflict());
    this.signalWebhookChange();
    this.startPump();
    return same ? "already set" : "set";
  }

  deleteWebhook(dropPending: boolean): "deleted" | "already deleted" {
    const had = this.webhookConfig !== undefined;
    this.webhookConfig = undefined;
    if (dropPending) this.dropPending();
    this.signalWebhookChange();
    return had ? "deleted" : "already deleted";
  }

  webhookInfo(): TgWebhookInfo {
    const hook = this.webhookConfig;
    if (hook === undefined)
      return { url: "", has_custom_certificate: false, pending_update_count: this.pendingCount() };
    const info: TgWebhookInfo = {
      url: hook.url,
      has_custom_certificate: false,
      pending_update_count: this.pendingCount(),
      max_connections: hook.maxConnections,
    };
    if (hook.allowedUpdates !== undefined) info.allowed_updates = hook.allowedUpdates;
    if (hook.lastErrorDate !== undefined) info.last_error_date = hook.lastErrorDate;
    if (hook.lastErrorMessage !== undefined) info.last_error_message = hook.lastErrorMessage;
    return info;
  }

  /** Wakes a delivery that is waiting to retry, so a corrected webhook is tried at once. */
  private signalWebhookChange(): void {
    this.webhookChanged.abort();
    this.webhookChanged = new AbortController();
  }

  setWebhookOrigin(origin: string | undefined): void {
    this.webhookOrigin = origin;
    this.signalWebhookChange();
    this.startPump();
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.signalWebhookChange();
    await this.pumping;
  }

  private startPump(): void {
    if (this.pumping !== undefined || this.closing.signal.aborted) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      // An update may have arrived after the loop saw an empty queue.
      if (this.webhookConfig !== undefined && this.pendingCount() > 0 && !this.closing.signal.aborted) {
        this.startPump();
      }
    });
  }

  private async pump(): Promise<void> {
    while (!this.closing.signal.aborted) {
      const hook = this.webhookConfig;
      const fromRedeliveries = this.redeliveries.length > 0;
      const update = this.redeliveries[0] ?? this.pending[0];
      if (hook === undefined || update === undefined) return;
      const outcome = await this.deliver(update, hook);
      if (outcome === "webhook changed") continue; // same update, fresh attempts on the new webhook
      const list = fromRedeliveries ? this.redeliveries : this.pending;
      const at = list.indexOf(update);
      if (at >= 0) list.splice(at, 1);
      if (outcome === "delivered" && !fromRedeliveries) this.settle(update);
      this.options.onChange();
    }
  }

  private deliveryUrl(url: string): string {
    if (this.webhookOrigin === undefined) return url;
    const registered = new URL(url);
    return new URL(registered.pathname + registered.search, this.webhookOrigin).toString();
  }

  private async deliver(
    update: TgUpdate,
    hook: WebhookConfig,
  ): Promise<"delivered" | "gave up" | "webhook changed"> {
    const delays = this.options.webhookRetryDelaysMs;
    for (let attempt = 1; attempt <= delays.length + 1; attempt++) {
      if (this.webhookConfig !== hook || this.closing.signal.aborted) return "webhook changed";
      const changed = this.webhookChanged.signal;
      const url = this.deliveryUrl(hook.url);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (hook.secretToken !== undefined) headers["x-telegram-bot-api-secret-token"] = hook.secretToken;
      const atMs = this.options.now();
      let status: number | undefined;
      let error: string | undefined;
      let replyMethod: string | undefined;
      let reply: { method: string; params: Params } | undefined;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers,
          body: JSON.stringify(update),
          redirect: "manual",
          signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.options.webhookTimeoutMs)]),
        });
        status = res.status;
        const body = await readResponseBody(res, MAX_REPLY_BYTES);
        if (res.ok && body.length > 0) {
          const params = await parseParams(
            res.headers.get("content-type") ?? undefined,
            body,
            new URLSearchParams(),
          );
          const method = params["method"];
          if (typeof method === "string" && method !== "") {
            delete params["method"];
            replyMethod = method;
            reply = { method, params };
          }
        }
        if (!res.ok)
          error = `Wrong response from the webhook: ${res.status} ${STATUS_CODES[res.status] ?? ""}`.trim();
      } catch (e) {
        error =
          e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")
            ? "Read timeout expired"
            : `Connection failed: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`;
      }
      if (error !== undefined) {
        hook.lastErrorDate = Math.floor(atMs / 1000);
        hook.lastErrorMessage = error;
      }
      const record: WebhookDeliveryRecord = {
        updateId: update.update_id,
        attempt,
        url,
        secretTokenSent: hook.secretToken !== undefined,
        atMs,
      };
      this.options.onDelivery({
        ...record,
        ...(status === undefined ? {} : { status }),
        ...(error === undefined ? {} : { error }),
        ...(replyMethod === undefined ? {} : { replyMethod }),
      });
      if (error === undefined) {
        // Errors of the replied method are not reported anywhere, as on the real server.
        if (reply !== undefined) await this.options.executeWebhookReply(reply.method, reply.params);
        return "delivered";
      }
      const delay = delays[attempt - 1];
      if (delay === undefined) return "gave up";
      await sleep(delay, undefined, { signal: AbortSignal.any([changed, this.closing.signal]) }).catch(
        () => undefined,
      );
    }
    return "gave up";
  }
}
