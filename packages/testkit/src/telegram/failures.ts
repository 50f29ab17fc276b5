// Failure injection: a FIFO queue of one-shot failures consumed by the next matching calls, "storms"
// that hit every (or every n-th) matching call until stopped, and optional flood limits that answer
// 429 the way Telegram does when a bot sends too fast.
import type { TgResponseParameters } from "./types.js";

export type TgFailure =
  /** 429 "Too Many Requests: retry after N" with parameters.retry_after = retryAfterS. Real values are
   * whole seconds ≥ 1; fractions (e.g. 0.05) are accepted so tests stay fast. */
  | { type: "tooManyRequests"; retryAfterS: number }
  /** A 5xx. `html: true` answers with an nginx-style HTML page instead of the JSON envelope. */
  | { type: "serverError"; status?: 500 | 502 | 503 | 504; html?: boolean }
  /** 403 "Forbidden: bot was blocked by the user" for this one call (see also blockUser). */
  | { type: "blocked" }
  /** Any other envelope error. */
  | { type: "error"; errorCode: number; description: string; parameters?: TgResponseParameters }
  /** Waits, then handles the call normally. */
  | { type: "delay"; delayMs: number }
  /** Destroys the socket without an answer. applied: whether the method ran first (e.g. the message
   * was really sent and only the answer was lost) or not at all. */
  | { type: "drop"; applied: boolean };

export interface FailureMatch {
  /** Method names (case-insensitive) or "*" for every method. */
  methods: string | readonly string[];
  /** Only calls whose chat_id (or user_id) is this. */
  chatId?: number;
}

interface Rule {
  readonly methods: ReadonlySet<string> | "*";
  readonly chatId: number | undefined;
  readonly failure: TgFailure;
  remaining: number;
  readonly every: number;
  seen: number;
}

const MAX_RULES = 1_000;
const MAX_TIMES = 100_000;

function toRule(match: FailureMatch, failure: TgFailure, remaining: number, every: number): Rule {
  const list = typeof match.methods === "string" ? [match.methods] : match.methods;
  return {
    methods: list.includes("*") ? "*" : new Set(list.map((m) => m.toLowerCase())),
    chatId: match.chatId,
    failure,
    remaining,
    every: Math.max(1, Math.floor(every)),
    seen: 0,
  };
}

function matches(rule: Rule, method: string, chatId: number | undefined): boolean {
  if (rule.methods !== "*" && !rule.methods.has(method.toLowerCase())) return false;
  return rule.chatId === undefined || rule.chatId === chatId;
}

export class FailurePlan {
  private queue: Rule[] = [];
  private storms: Rule[] = [];

  /** The next `times` matching calls fail (queued rules are consumed in the order they were added). */
  failNext(match: FailureMatch, failure: TgFailure, times = 1): void {
    if (this.queue.length >= MAX_RULES) throw new Error("too many queued failures");
    this.queue.push(toRule(match, failure, Math.min(MAX_TIMES, Math.max(1, Math.floor(times))), 1));
  }

  /** Every `every`-th matching call fails until stopStorms()/clear(). */
  storm(match: FailureMatch, failure: TgFailure, every = 1): void {
    if (this.storms.length >= MAX_RULES) throw new Error("too many storms");
    this.storms.push(toRule(match, failure, Number.POSITIVE_INFINITY, every));
  }

  stopStorms(): void {
    this.storms = [];
  }

  clear(): void {
    this.queue = [];
    this.storms = [];
  }

  pendingCount(): number {
    return this.queue.reduce((n, r) => n + r.remaining, 0);
  }

  /** The failure for this call, if any; consumes one use of a queued rule. */
  take(method: string, chatId: number | undefined): TgFailure | undefined {
    const queued = this.queue.find((r) => matches(r, method, chatId));
    if (queued !== undefined) {
      queued.remaining--;
      if (queued.remaining <= 0) this.queue.splice(this.queue.indexOf(queued), 1);
      return queued.failure;
    }
    for (const storm of this.storms) {
      if (!matches(storm, method, chatId)) continue;
      storm.seen++;
      if (storm.seen % storm.every === 0) return storm.failure;
    }
    return undefined;
  }
}

export interface FloodLimits {
  /** Messages per window to one chat (Telegram: about 1 per second). */
  perChat: number;
  /** Messages per window overall (Telegram: about 30 per second). */
  global: number;
  /** Window length; 1000 ms by default. Shorter windows give fractional retry_after. */
  windowMs: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = { perChat: 1, global: 30, windowMs: 1_000 };

/** Sliding-window counters of sent messages; answers the retry_after a too-fast send gets. */
export class FloodLimiter {
  private readonly perChat = new Map<number, number[]>();
  private global: number[] = [];
  readonly limits: FloodLimits;

  constructor(limits: FloodLimits) {
    this.limits = limits;
  }

  private prune(times: number[], nowMs: number): number[] {
    return times.filter((t) => nowMs - t < this.limits.windowMs);
  }

  /** retry_after in seconds if a message to chatId now would exceed a limit, else undefined. */
  check(chatId: number, nowMs: number): number | undefined {
    this.global = this.prune(this.global, nowMs);
    const chat = this.prune(this.perChat.get(chatId) ?? [], nowMs);
    this.perChat.set(chatId, chat);
    const waits: number[] = [];
    const chatOldest = chat[0];
    if (chat.length >= this.limits.perChat && chatOldest !== undefined)
      waits.push(chatOldest + this.limits.windowMs - nowMs);
    const globalOldest = this.global[0];
    if (this.global.length >= this.limits.global && globalOldest !== undefined) {
      waits.push(globalOldest + this.limits.windowMs - nowMs);
    }
    if (waits.length === 0) return undefined;
    const waitMs = Math.max(1, ...waits);
    // Whole seconds like the real server when the window is a second or more.
    return this.limits.windowMs >= 1_000 ? Math.max(1, Math.ceil(waitMs / 1000)) : Math.ceil(waitMs) / 1000;
  }

  record(chatId: number, nowMs: number): void {
    this.global.push(nowMs);
    const chat = this.perChat.get(chatId) ?? [];
    chat.push(nowMs);
    this.perChat.set(chatId, chat);
    // Bound the number of tracked chats; an idle chat's counters are empty anyway.
    if (this.perChat.size > 10_000) {
      for (const [id, times] of this.perChat)
        if (this.prune(times, nowMs).length === 0) this.perChat.delete(id);
    }
  }
}
