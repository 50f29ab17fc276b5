// Everything the bot remembers, all of it in bounded maps. None of it is money: balances, holds and
// payments live in billing. Lost on restart, each costs at most a question asked again, a "generating"
// repeated, or a notification in the default language.
import type { ImageRef } from "@billing/proto/events/v1/jobs_pb";
import { BoundedMap, BoundedSet } from "./bounded.js";
import type { Conversation } from "./flows/conversation.js";
import type { Locale } from "./i18n/index.js";
import type { Operation } from "./operations.js";

const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;

/** A job this instance requested, for the "again" button (same inputs, a new charge). */
export interface RecentJob {
  readonly userId: number;
  readonly operation: Operation;
  readonly text: string;
  readonly inputs: readonly ImageRef[];
}

export class BotMemory {
  /** Where each user is in a conversation. */
  readonly conversations: BoundedMap<number, Conversation>;
  /** Each user's language, for messages that no update carries (payments, expired holds). */
  readonly locales: BoundedMap<number, Locale>;
  /** The receipt email, asked once per user (per process lifetime; not durable on purpose). */
  readonly emails: BoundedMap<number, string>;
  /** Update ids already handled: a redelivered update does nothing twice. */
  readonly seenUpdates: BoundedSet<number>;
  /** Jobs requested here: a second tap on the same button does not say "generating" again. */
  readonly startedJobs: BoundedSet<string>;
  readonly recentJobs: BoundedMap<string, RecentJob>;
  /** Jobs whose outcome the user was told (result, failure or expired hold): told once. */
  readonly notifiedJobs: BoundedSet<string>;
  /** Billing events handled. */
  readonly seenEvents: BoundedSet<string>;

  constructor(options: { maxUsers: number; stateTtlMs: number; now?: () => number }) {
    const { maxUsers, stateTtlMs, now } = options;
    this.conversations = new BoundedMap(maxUsers, stateTtlMs, now);
    this.locales = new BoundedMap(maxUsers, 30 * DAY_MS, now);
    this.emails = new BoundedMap(maxUsers, 30 * DAY_MS, now);
    this.seenUpdates = new BoundedSet(Math.max(1_000, maxUsers), HOUR_MS, now);
    this.startedJobs = new BoundedSet(Math.max(1_000, maxUsers), DAY_MS, now);
    this.recentJobs = new BoundedMap(maxUsers, DAY_MS, now);
    this.notifiedJobs = new BoundedSet(Math.max(1_000, maxUsers * 2), 2 * DAY_MS, now);
    this.seenEvents = new BoundedSet(Math.max(1_000, maxUsers * 2), 2 * DAY_MS, now);
  }
}
