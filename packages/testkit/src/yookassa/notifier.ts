// Outgoing notifications, YooKassa style: POST {type, event, object} to the configured URL, repeat
// on anything but 200 (bounded, short configurable intervals), and on request misbehave the way the
// real service does or an attacker would: duplicates, delay, reordering (hold, then release in
// reverse), forged bodies, a foreign source address, a spoofed X-Forwarded-For.
import http from "node:http";
import https from "node:https";
import { setTimeout as sleep } from "node:timers/promises";

import type { EmittedNotification, NotificationDelivery, NotificationQuirk } from "./types.js";

export interface NotifierOptions {
  url: string | undefined;
  /** Waits before attempts 2, 3, …; attempts = length + 1. */
  readonly retryDelaysMs: readonly number[];
  readonly timeoutMs: number;
  /** Local address for ordinary deliveries (undefined: the OS picks, 127.0.0.1 towards loopback). */
  readonly localAddress: string | undefined;
  /** Local address for deliveries "from a foreign sender". */
  readonly foreignLocalAddress: string;
  /** Bound on the logs kept for assertions. */
  readonly maxLogEntries: number;
}

interface Pending {
  readonly id: number;
  readonly event: string;
  readonly objectId: string;
  readonly body: string;
  readonly forged: boolean;
  readonly quirk: NotificationQuirk;
  readonly duplicateOf?: number;
  state: EmittedNotification["state"];
}

const MAX_QUEUED_QUIRKS = 1000;
const MAX_HELD = 10_000;

export interface QueuedQuirk extends NotificationQuirk {
  /** Apply to the next notification with this event (any event when absent). */
  readonly event?: string;
}

export class Notifier {
  private nextId = 1;
  private readonly notificationLog: Pending[] = [];
  private readonly deliveryLog: NotificationDelivery[] = [];
  private readonly quirks: QueuedQuirk[] = [];
  private held: Pending[] | undefined;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  constructor(private readonly options: NotifierOptions) {}

  get notifications(): readonly EmittedNotification[] {
    return this.notificationLog.map((entry) => ({
      id: entry.id,
      event: entry.event,
      objectId: entry.objectId,
      body: entry.body,
      forged: entry.forged,
      quirk: entry.quirk,
      state: entry.state,
      ...(entry.duplicateOf === undefined ? {} : { duplicateOf: entry.duplicateOf }),
    }));
  }

  get deliveries(): readonly NotificationDelivery[] {
    return [...this.deliveryLog];
  }

  setUrl(url: string | undefined): void {
    this.options.url = url;
  }

  queueQuirk(quirk: QueuedQuirk): void {
    if (this.quirks.length >= MAX_QUEUED_QUIRKS)
      throw new RangeError(`at most ${String(MAX_QUEUED_QUIRKS)} queued quirks`);
    this.quirks.push(quirk);
  }

  /** From now on notifications wait until `release()`: lets a test deliver them out of order. */
  hold(): void {
    this.held ??= [];
  }

  /**
   * Sends what was held, in emission order or reversed, one after another (each after the previous
   * one's delivery finished, so the receiver really sees that order), and stops holding.
   */
  release(order: "fifo" | "reverse" = "fifo"): number {
    const held = this.held ?? [];
    this.held = undefined;
    const batch = order === "reverse" ? [...held].reverse() : held;
    void this.track(
      (async () => {
        for (const entry of batch) await this.start(entry);
      })(),
    );
    return batch.length;
  }

  /** Emits a notification for `object` (automatic on status changes, or on request). */
  emit(
    event: string,
    object: { readonly id: string },
    options: { forged?: boolean; quirk?: NotificationQuirk } = {},
  ): number {
    const queuedIndex = this.quirks.findIndex((quirk) => quirk.event === undefined || quirk.event === event);
    const queued = queuedIndex === -1 ? {} : this.quirks.splice(queuedIndex, 1)[0];
    const quirk: NotificationQuirk = { ...queued, ...options.quirk };
    const body = JSON.stringify({ type: "notification", event, object });
    const original = this.record({
      event,
      objectId: object.id,
      body,
      forged: options.forged ?? false,
      quirk,
    });
    const copies = [original];
    for (let i = 0; i < Math.min(quirk.duplicates ?? 0, 10); i += 1) {
      copies.push(
        this.record({
          event,
          objectId: object.id,
          body,
          forged: original.forged,
          quirk,
          duplicateOf: original.id,
        }),
      );
    }
    for (const copy of copies) {
      if (this.held === undefined) this.schedule(copy);
      else if (this.held.length >= MAX_HELD)
        copy.state = "dropped"; // bounded, like everything else
      else {
        copy.state = "held";
        this.held.push(copy);
      }
    }
    return original.id;
  }

  private record(entry: Omit<Pending, "id" | "state">): Pending {
    const pending: Pending = { ...entry, id: this.nextId, state: "scheduled" };
    this.nextId += 1;
    this.notificationLog.push(pending);
    if (this.notificationLog.length > this.options.maxLogEntries) this.notificationLog.shift();
    return pending;
  }

  private schedule(entry: Pending): void {
    void this.start(entry);
  }

  private start(entry: Pending): Promise<void> {
    const url = this.options.url;
    if (url === undefined) {
      entry.state = "dropped";
      return Promise.resolve();
    }
    entry.state = "scheduled";
    return this.track(this.deliver(entry, url));
  }

  /** Counts work in flight so `idle()` knows when everything is done. */
  private track(work: Promise<void>): Promise<void> {
    this.inFlight += 1;
    return work.finally(() => {
      this.inFlight -= 1;
      if (this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const wake of waiters) wake();
      }
    });
  }

  private async deliver(entry: Pending, url: string): Promise<void> {
    const signal = this.abort.signal;
    try {
      if ((entry.quirk.delayMs ?? 0) > 0) await sleep(entry.quirk.delayMs, undefined, { signal });
      const attempts = this.options.retryDelaysMs.length + 1;
      for (let attempt = 1; attempt <= attempts; attempt += 1) {
        if (attempt > 1) await sleep(this.options.retryDelaysMs[attempt - 2] ?? 0, undefined, { signal });
        const delivery = await this.attempt(entry, url, attempt);
        this.deliveryLog.push(delivery);
        if (this.deliveryLog.length > this.options.maxLogEntries) this.deliveryLog.shift();
        if (delivery.status === 200) {
          entry.state = "delivered";
          return;
        }
      }
      entry.state = "failed";
    } catch {
      // Aborted by close().
      entry.state = "dropped";
    }
  }

  private attempt(entry: Pending, url: string, attempt: number): Promise<NotificationDelivery> {
    const target = new URL(url);
    const localAddress =
      entry.quirk.fromForeignAddress === true ? this.options.foreignLocalAddress : this.options.localAddress;
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(entry.body)),
      "User-Agent": "YooKassa-Fake/1.0",
    };
    if (entry.quirk.forwardedFor !== undefined) headers["X-Forwarded-For"] = entry.quirk.forwardedFor;
    const started = Date.now();
    const base = {
      notificationId: entry.id,
      attempt,
      event: entry.event,
      objectId: entry.objectId,
      url,
      forged: entry.forged,
      localAddress,
      forwardedFor: entry.quirk.forwardedFor,
      startedAt: new Date(started).toISOString(),
    };
    return new Promise((resolve) => {
      const finish = (status: number | undefined, error?: string): void => {
        resolve({
          ...base,
          status,
          durationMs: Date.now() - started,
          ...(error === undefined ? {} : { error }),
        });
      };
      const request = (target.protocol === "https:" ? https : http).request(
        target,
        {
          method: "POST",
          headers,
          // A fresh connection per attempt, so `localAddress` is really the source of this request.
          agent: false,
          timeout: this.options.timeoutMs,
          signal: this.abort.signal,
          ...(localAddress === undefined ? {} : { localAddress }),
        },
        (response) => {
          response.resume();
          response.on("end", () => finish(response.statusCode));
          response.on("error", (error) => finish(response.statusCode, error.message));
          // The receiver may cut the answer short; the status line is what counts.
          response.on("close", () => finish(response.statusCode));
        },
      );
      request.on("timeout", () =>
        request.destroy(new Error(`no answer within ${String(this.options.timeoutMs)} ms`)),
      );
      request.on("error", (error) => finish(undefined, error.message));
      request.end(entry.body);
    });
  }

  /** Resolves once nothing is being delivered or waiting for a retry (held ones do not count). */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== wake);
        reject(new Error(`notifications still in flight after ${String(timeoutMs)} ms`));
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.idleWaiters.push(wake);
    });
  }

  clear(): void {
    this.notificationLog.length = 0;
    this.deliveryLog.length = 0;
    this.quirks.length = 0;
    this.held = undefined;
  }

  close(): void {
    this.abort.abort();
  }
}
