// QuotaService's domain: plans per user, and usage counters per calendar window. Each command is one
// transaction that locks the counters it touches (in key order), checks, changes them, records its
// idempotency key with its result, and commits — or changes nothing. Windows need no reset job: the
// first call in a new window finds no counter for it and starts one at zero.
import { createHash } from "node:crypto";
import { LockMode } from "@mikro-orm/postgresql";
import type { PlanConfig, QuotaWindowName } from "@billing/config";
import { Counter, type Registry } from "@billing/observability";
import type { Database, EntityManager } from "../db/database.js";
import { entityManagerOf } from "../db/unit-of-work.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import { type CommandKey, derivedKey, entityAnswerBook, runCommand, runCommands } from "../commands/index.js";
import { QuotaCounter, QuotaPlanActivation, QuotaUserPlan } from "../db/quota-entities.js";
import type { Clock } from "../domain/clock.js";
import { DomainError, invalidFields } from "../domain/errors.js";
import { recordEvent } from "../outbox/outbox.js";
import { quotaEffect } from "../observability/effect-of.js";
import { moneyObserverOf, recordMoneyEffect } from "../observability/record.js";
import { type CalendarWindow, windowAt } from "./calendar.js";
import {
  effectivePlan,
  type EffectivePlan,
  fits,
  periodEnd,
  PlanCatalogue,
  remainingUnits,
  requireQuota,
  type StoredPlan,
} from "./rules.js";

export interface QuotaConfig {
  readonly plans: readonly PlanConfig[];
  /** IANA zone of the calendar windows, e.g. Europe/Moscow. */
  readonly timeZone: string;
}

/** One metric of a user's plan in the current window. */
export interface MetricQuota {
  readonly metric: string;
  readonly window: QuotaWindowName;
  readonly limitUnits: bigint;
  readonly extraUnits: bigint;
  readonly usedUnits: bigint;
  readonly remainingUnits: bigint;
  readonly windowStart: Date;
  /** The first instant of the next window. */
  readonly resetsAt: Date;
}

export interface QuotaReport {
  readonly userRef: string;
  readonly planCode: string;
  readonly planUntil: Date | undefined;
  readonly metrics: readonly MetricQuota[];
}

export interface ConsumeResult {
  readonly planCode: string;
  readonly quota: MetricQuota;
}

export interface PlanAssignment {
  readonly userRef: string;
  readonly planCode: string;
  readonly until: Date | undefined;
}

export interface PlanActivation {
  /** False when this payment had already activated the plan (nothing changed this time). */
  readonly activated: boolean;
  readonly userRef: string;
  readonly planCode: string;
  readonly paymentId: string;
  /** The end of the plan before this payment, if it was the same plan still running. */
  readonly previousUntil: Date | undefined;
  /** The new end; undefined if the same plan already ran without end. */
  readonly until: Date | undefined;
}

/** SetPlan refuses an end further away than this (a typo such as year 20260). */
const PLAN_UNTIL_MAX_MS = 100 * 366 * 86_400_000;

export class Quotas {
  readonly catalogue: PlanCatalogue;
  readonly #consumedUnits: Counter<"metric" | "plan">;
  readonly #rejected: Counter<"metric" | "plan">;

  constructor(
    readonly db: Database,
    readonly config: QuotaConfig,
    readonly clock: Clock,
    registry: Registry,
  ) {
    this.catalogue = new PlanCatalogue(config.plans);
    this.#consumedUnits = new Counter({
      name: "billing_quota_consumed_units_total",
      help: "Quota units consumed, by metric and the user's plan (replays not counted).",
      labelNames: ["metric", "plan"] as const,
      registers: [registry],
    });
    this.#rejected = new Counter({
      name: "billing_quota_rejected_total",
      help: "ConsumeQuota calls refused with QUOTA_EXCEEDED, by metric and the user's plan.",
      labelNames: ["metric", "plan"] as const,
      registers: [registry],
    });
    // Every series exists from the start at 0, so rate() and alerts see the first increment.
    for (const plan of this.catalogue.plans) {
      for (const quota of plan.quotas) {
        this.#consumedUnits.inc({ metric: quota.metric, plan: plan.code }, 0);
        this.#rejected.inc({ metric: quota.metric, plan: plan.code }, 0);
      }
    }
  }

  get timeZone(): string {
    return this.config.timeZone;
  }

  /** Puts a user on a plan until `until` (undefined = no end). Refuses an end that is not in the future. */
  async setPlan(command: {
    userRef: string;
    planCode: string;
    until: Date | undefined;
  }): Promise<PlanAssignment> {
    const plan = this.catalogue.require(command.planCode, "plan_code");
    const now = this.clock.now();
    if (command.until !== undefined) {
      if (command.until <= now) {
        throw invalidFields([
          { field: "until", description: `must be in the future (now is ${now.toISOString()})` },
        ]);
      }
      if (command.until.getTime() - now.getTime() > PLAN_UNTIL_MAX_MS) {
        throw invalidFields([{ field: "until", description: "must be within 100 years" }]);
      }
    }
    const until = command.until ?? null;
    await this.db.transaction(async (tx) => {
      await tx.execute(
        `insert into quota_user_plans (user_ref, plan_code, until, source, payment_id, updated_at)
         values (?, ?, ?, 'ADMIN', null, ?)
         on conflict (user_ref) do update set plan_code = excluded.plan_code, until = excluded.until,
           source = excluded.source, payment_id = null, updated_at = excluded.updated_at`,
        [command.userRef, plan.code, until, now],
      );
    });
    return { userRef: command.userRef, planCode: plan.code, until: command.until };
  }

  /** The user's plan and every metric of it in the current window. */
  async getQuota(userRef: string): Promise<QuotaReport> {
    const em = this.db.reader();
    const now = this.clock.now();
    const { plan, until } = await this.#planOf(em, userRef, now);
    const windows = plan.quotas.map((quota) => ({
      quota,
      window: windowAt(quota.window, now, this.timeZone),
    }));
    const counters = await em.find(QuotaCounter, {
      $or: windows.map(({ quota, window }) => ({
        userRef,
        metric: quota.metric,
        windowKind: quota.window,
        windowStart: window.start,
      })),
    });
    return {
      userRef,
      planCode: plan.code,
      planUntil: until,
      metrics: windows.map(({ quota, window }) => {
        const counter = counters.find((c) => c.metric === quota.metric && c.windowKind === quota.window);
        return metricQuota(quota.metric, quota.window, quota.limitUnits, window, counter);
      }),
    };
  }

  /**
   * Uses `units` of a metric in the current window, atomically; `ref` (the caller's reference) makes
   * the call idempotent per user. Over the limit: RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, nothing used.
   */
  async consume(command: {
    userRef: string;
    metric: string;
    units: bigint;
    ref: string;
  }): Promise<ConsumeResult> {
    const spec = { name: "ConsumeQuota", key: consumeKey(command.userRef, command.ref), request: command };
    let outcome: { result: ConsumeResult; replayed: boolean };
    try {
      outcome = await this.db.transaction(async (tx) => {
        const now = this.clock.now();
        // A replay answers what the first call answered, even if the plan or window changed since.
        const [answer] = await runCommands(
          entityAnswerBook(tx, () => now),
          [spec],
          async () => {
            const { plan } = await this.#planOf(tx, command.userRef, now);
            const quota = requireQuota(plan, command.metric, "metric");
            const window = windowAt(quota.window, now, this.timeZone);
            const [counter] = await this.#lockCounters(tx, command.userRef, [
              { metric: quota.metric, kind: quota.window, start: window.start },
            ]);
            if (counter === undefined) throw new Error("quota invariant: the counter was not locked");
            if (!fits(quota.limitUnits, counter.extraUnits, counter.usedUnits, command.units)) {
              throw quotaExceeded(
                command,
                plan,
                metricQuota(quota.metric, quota.window, quota.limitUnits, window, counter),
              );
            }
            counter.usedUnits += command.units;
            counter.updatedAt = now;
            if (counter.usedUnits > quota.limitUnits + counter.extraUnits) {
              throw new Error("quota invariant: a consumption overran its window");
            }
            recordMoneyEffect(
              tx,
              quotaEffect("quota_debit", { ...command, plan: plan.code, key: spec.key.stored }),
            );
            return {
              planCode: plan.code,
              quota: metricQuota(quota.metric, quota.window, quota.limitUnits, window, counter),
            } satisfies ConsumeResult;
          },
        );
        if (answer === undefined) throw new Error("quota invariant: a command without an outcome");
        if (!answer.ok) throw answer.error;
        return { result: answer.value, replayed: answer.replayed };
      });
    } catch (error) {
      if (error instanceof DomainError && error.reason === "QUOTA_EXCEEDED") {
        this.#rejected.inc({ metric: command.metric, plan: error.detail.metadata?.plan_code ?? "" });
        moneyObserverOf(this.db.orm)?.metrics.quotaExceeded(
          command.metric,
          error.detail.metadata?.plan_code ?? "",
        );
      }
      throw error;
    }
    // Counted after the commit, so a retried transaction or a replay never counts twice.
    if (!outcome.replayed) {
      this.#consumedUnits.inc(
        { metric: command.metric, plan: outcome.result.planCode },
        Number(command.units),
      );
    }
    return outcome.result;
  }

  /**
   * Adds extra units to metrics of the user's plan for the current window only (they lapse with it);
   * once per order_id.
   */
  async add(command: {
    userRef: string;
    orderId: string;
    units: readonly { metric: string; units: bigint }[];
  }): Promise<{ metrics: MetricQuota[] }> {
    const spec = {
      name: "AddQuota",
      key: derivedKey("quota:add", command.orderId),
      // The order of the lines does not make it another request.
      request: { ...command, units: [...command.units].sort((a, b) => (a.metric < b.metric ? -1 : 1)) },
    };
    return this.db.transaction(async (tx) => {
      const now = this.clock.now();
      return runCommand(
        entityAnswerBook(tx, () => now),
        spec,
        async () => {
          const { plan } = await this.#planOf(tx, command.userRef, now);
          const lines = command.units.map((line, index) => {
            const quota = requireQuota(plan, line.metric, `units[${index}].metric`);
            return { line, quota, window: windowAt(quota.window, now, this.timeZone) };
          });
          const counters = await this.#lockCounters(
            tx,
            command.userRef,
            lines.map(({ quota, window }) => ({
              metric: quota.metric,
              kind: quota.window,
              start: window.start,
            })),
          );
          for (const { line } of lines)
            recordMoneyEffect(
              tx,
              quotaEffect("quota_credit", { ...command, ...line, plan: plan.code, key: spec.key.stored }),
            );
          return {
            metrics: lines.map(({ line, quota, window }) => {
              const counter = counters.find((c) => c.metric === quota.metric);
              if (counter === undefined) throw new Error("quota invariant: the counter was not locked");
              counter.extraUnits += line.units;
              counter.updatedAt = now;
              return metricQuota(quota.metric, quota.window, quota.limitUnits, window, counter);
            }),
          };
        },
      );
    });
  }

  /**
   * For the payment flow, inside the payment's own transaction: a successful purchase of `planCode`
   * puts the user on it for one period (calendar months, day-of-month clamped) from max(now, the
   * current end if the same plan is still running), exactly once per paymentId, and records a
   * planActivated event. A second call with the same paymentId changes nothing and returns the first
   * activation with activated = false. Throws UNKNOWN_PLAN for a plan that is not sold by period.
   */
  async activatePlan(
    uow: UnitOfWork,
    command: { userRef: string; planCode: string; paymentId: string; now: Date; periodMonths?: number },
  ): Promise<PlanActivation> {
    const tx = entityManagerOf(uow);
    const { userRef, paymentId, now } = command;
    // A payment brings the period it bought (frozen at creation): it settles even if the plan has
    // left the catalogue or lost its period since.
    const plan =
      command.periodMonths === undefined
        ? this.catalogue.require(command.planCode, "plan_code")
        : planAsBought(this.catalogue.find(command.planCode), command.planCode, command.periodMonths);
    if (plan.periodMonths <= 0) {
      throw new DomainError("UNKNOWN_PLAN", `plan ${plan.code} is not for sale`, {
        fieldViolations: [{ field: "plan_code", description: "must be a plan with a period" }],
        metadata: { plan_code: plan.code },
      });
    }
    const done = await this.#findActivation(tx, command);
    if (done !== undefined) return done;

    const lock = () =>
      tx.findOne(QuotaUserPlan, { userRef }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    let current = await lock();
    if (current === null) {
      // The user's first plan row. A concurrent activation for the same user makes this insert wait,
      // then conflict; the row that one committed is then locked and extended like any other.
      const until = periodEnd(plan, null, now, this.timeZone);
      const inserted = await tx.execute<{ user_ref: string }[]>(
        `insert into quota_user_plans (user_ref, plan_code, until, source, payment_id, updated_at)
         values (?, ?, ?, 'PAYMENT', ?, ?) on conflict (user_ref) do nothing returning user_ref`,
        [userRef, plan.code, until, paymentId, now],
      );
      if (inserted.length === 1) return this.#activated(tx, command, plan, undefined, until);
      current = await lock();
      if (current === null) throw new Error("quota invariant: a conflicting plan row vanished");
    }
    // Another call with this payment may have committed while this one waited for the lock.
    const twin = await this.#findActivation(tx, command);
    if (twin !== undefined) return twin;
    const stored: StoredPlan = { planCode: current.planCode, until: current.until ?? null };
    const until = periodEnd(plan, stored, now, this.timeZone);
    const renewing = stored.planCode === plan.code && stored.until !== null && stored.until > now;
    current.planCode = plan.code;
    current.until = until;
    current.source = "PAYMENT";
    current.paymentId = paymentId;
    current.updatedAt = now;
    return this.#activated(tx, command, plan, renewing ? (stored.until ?? undefined) : undefined, until);
  }

  async #activated(
    tx: EntityManager,
    command: { userRef: string; paymentId: string; now: Date },
    plan: PlanConfig,
    previousUntil: Date | undefined,
    until: Date | null,
  ): Promise<PlanActivation> {
    const { userRef, paymentId, now } = command;
    tx.create(QuotaPlanActivation, {
      paymentId,
      userRef,
      planCode: plan.code,
      previousUntil: previousUntil ?? null,
      until,
      activatedAt: now,
    });
    recordEvent(
      tx,
      { kind: "planActivated", userRef, planCode: plan.code, paymentId, until: until ?? undefined },
      now,
    );
    // Written now, so that a second call in the same transaction finds this activation.
    await tx.flush();
    return {
      activated: true,
      userRef,
      planCode: plan.code,
      paymentId,
      previousUntil,
      until: until ?? undefined,
    };
  }

  async #findActivation(
    tx: EntityManager,
    command: { userRef: string; planCode: string; paymentId: string },
  ): Promise<PlanActivation | undefined> {
    const row = await tx.findOne(QuotaPlanActivation, { paymentId: command.paymentId }, { refresh: true });
    if (row === null) return undefined;
    if (row.userRef !== command.userRef || row.planCode !== command.planCode) {
      // One payment buys one plan for one user; anything else is a bug in the caller.
      throw new Error(
        `quota invariant: payment ${command.paymentId} already activated ${row.planCode} for another user or plan`,
      );
    }
    return {
      activated: false,
      userRef: row.userRef,
      planCode: row.planCode,
      paymentId: row.paymentId,
      previousUntil: row.previousUntil ?? undefined,
      until: row.until ?? undefined,
    };
  }

  async #planOf(em: EntityManager, userRef: string, now: Date): Promise<EffectivePlan> {
    const row = await em.findOne(QuotaUserPlan, { userRef });
    return effectivePlan(
      this.catalogue,
      row === null ? null : { planCode: row.planCode, until: row.until ?? null },
      now,
    );
  }

  /**
   * Creates the counters of these windows if absent and locks them, all in one key order (metric,
   * then window), so that two commands touching the same counters never wait on each other in a cycle.
   */
  async #lockCounters(
    tx: EntityManager,
    userRef: string,
    keys: readonly { metric: string; kind: QuotaWindowName; start: Date }[],
  ): Promise<QuotaCounter[]> {
    const sorted = [...keys].sort((a, b) => compareKeys(a, b));
    await tx.execute(
      `insert into quota_counters (user_ref, metric, window_kind, window_start, updated_at)
       values ${sorted.map(() => "(?, ?, ?, ?, ?)").join(", ")}
       on conflict (user_ref, metric, window_kind, window_start) do nothing`,
      sorted.flatMap((k) => [userRef, k.metric, k.kind, k.start, k.start]),
    );
    const counters = await tx.find(
      QuotaCounter,
      { $or: sorted.map((k) => ({ userRef, metric: k.metric, windowKind: k.kind, windowStart: k.start })) },
      {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        orderBy: { metric: "asc", windowKind: "asc", windowStart: "asc" },
        refresh: true,
      },
    );
    if (counters.length !== sorted.length) throw new Error("quota invariant: a counter was not created");
    return counters;
  }
}

function compareKeys(
  a: { metric: string; kind: string; start: Date },
  b: { metric: string; kind: string; start: Date },
): number {
  if (a.metric !== b.metric) return a.metric < b.metric ? -1 : 1;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.start.getTime() - b.start.getTime();
}

/**
 * The idempotency key of a ConsumeQuota call. `ref` is the caller's reference and only unique per
 * user, so the key names the user; the ref is hashed so that the key stays within the 200 characters
 * the idempotency table allows whatever the lengths (128 + 128), and so that a user_ref containing
 * ':' cannot make two (user, ref) pairs spell the same key. Derived keys live apart from callers' keys.
 */
export function consumeKey(userRef: string, ref: string): CommandKey {
  return derivedKey("quota:consume", userRef, createHash("sha256").update(ref).digest("base64url"));
}

function metricQuota(
  metric: string,
  window: QuotaWindowName,
  limitUnits: bigint,
  bounds: CalendarWindow,
  counter: { usedUnits: bigint; extraUnits: bigint } | undefined,
): MetricQuota {
  const usedUnits = counter?.usedUnits ?? 0n;
  const extraUnits = counter?.extraUnits ?? 0n;
  return {
    metric,
    window,
    limitUnits,
    extraUnits,
    usedUnits,
    remainingUnits: remainingUnits(limitUnits, extraUnits, usedUnits),
    windowStart: bounds.start,
    resetsAt: bounds.end,
  };
}

function quotaExceeded(
  command: { userRef: string; metric: string; units: bigint },
  plan: PlanConfig,
  quota: MetricQuota,
): DomainError {
  const description =
    `${quota.remainingUnits} of ${quota.limitUnits + quota.extraUnits} ${command.metric} units left in this ` +
    `${quota.window} (plan ${plan.code}), ${command.units} asked; the window resets at ${quota.resetsAt.toISOString()}`;
  return new DomainError("QUOTA_EXCEEDED", `quota exceeded: ${description}`, {
    quotaViolations: [{ subject: `metric:${command.metric}`, description }],
    metadata: {
      metric: command.metric,
      plan_code: plan.code,
      window: quota.window,
      remaining: quota.remainingUnits.toString(),
      requested: command.units.toString(),
      resets_at: quota.resetsAt.toISOString(),
    },
  });
}

function planAsBought(current: PlanConfig | undefined, code: string, periodMonths: number): PlanConfig {
  const base = current ?? { title: code, quotas: [], priceMinor: 0n, currency: "RUB", isDefault: false };
  return { ...base, code, periodMonths };
}
