// QuotaService's commands: plans per user, and usage counters per calendar window. Each command is one
// transaction that locks the counters it touches (in key order), checks, changes them, records its
// idempotency key with its result, and commits — or changes nothing. Windows need no reset job: the
// first call in a new window finds no counter for it and starts one at zero. The rules decide; the
// store (store.ts) is the only code that touches the database.
import { hash } from "node:crypto";
import type { Registry } from "@billing/observability";
import { type CommandKey, derivedKey, runCommand, runCommands } from "../commands/index.js";
import type { Database } from "../db/database.js";
import type { Clock } from "../domain/clock.js";
import { DomainError } from "../domain/errors.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import { quotaEffect } from "./effects.js";
import { windowAt } from "./calendar.js";
import { QuotaMetrics } from "./metrics.js";
import {
  checkPlanUntil,
  effectivePlan,
  type EffectivePlan,
  fits,
  metricQuota,
  periodEnd,
  PlanCatalogue,
  planAsBought,
  quotaExceeded,
  requireQuota,
} from "./rules.js";
import { type ActivationRow, QuotasStore, type QuotasTx } from "./store.js";
import type {
  ConsumeResult,
  MetricQuota,
  PlanActivation,
  PlanAssignment,
  QuotaConfig,
  QuotaReport,
} from "./types.js";

export class Quotas {
  readonly catalogue: PlanCatalogue;
  readonly #store: QuotasStore;
  readonly #metrics: QuotaMetrics;

  constructor(
    db: Database,
    readonly config: QuotaConfig,
    readonly clock: Clock,
    registry: Registry,
  ) {
    this.catalogue = new PlanCatalogue(config.plans);
    this.#store = new QuotasStore(db);
    this.#metrics = new QuotaMetrics(registry, this.catalogue);
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
    checkPlanUntil(command.until, now);
    await this.#store.transaction((tx) =>
      tx.assignPlan(command.userRef, plan.code, command.until ?? null, now),
    );
    return { userRef: command.userRef, planCode: plan.code, until: command.until };
  }

  /** The user's plan and every metric of it in the current window. */
  async getQuota(userRef: string): Promise<QuotaReport> {
    const now = this.clock.now();
    const { plan, until } = this.#effective(await this.#store.plan(userRef), now);
    const windows = plan.quotas.map((quota) => ({
      quota,
      window: windowAt(quota.window, now, this.timeZone),
    }));
    const counters = await this.#store.counters(
      userRef,
      windows.map(({ quota, window }) => ({ metric: quota.metric, kind: quota.window, start: window.start })),
    );
    return {
      userRef,
      planCode: plan.code,
      planUntil: until,
      metrics: windows.map(({ quota, window }) =>
        metricQuota(
          quota,
          window,
          counters.find((c) => c.metric === quota.metric && c.windowKind === quota.window),
        ),
      ),
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
      outcome = await this.#store.transaction(async (tx) => {
        const now = this.clock.now();
        // A replay answers what the first call answered, even if the plan or window changed since.
        const [answer] = await runCommands(
          tx.answers(() => now),
          [spec],
          () => this.#consume(tx, command, now, spec.key.stored),
        );
        if (answer === undefined) throw new Error("quota invariant: a command without an outcome");
        if (!answer.ok) throw answer.error;
        return { result: answer.value, replayed: answer.replayed };
      });
    } catch (error) {
      if (error instanceof DomainError && error.reason === "QUOTA_EXCEEDED") {
        const planCode = error.detail.metadata?.plan_code ?? "";
        this.#metrics.rejected(command.metric, planCode);
        this.#store.countExceeded(command.metric, planCode);
      }
      throw error;
    }
    // Counted after the commit, so a retried transaction or a replay never counts twice.
    if (!outcome.replayed) this.#metrics.consumed(command.metric, outcome.result.planCode, command.units);
    return outcome.result;
  }

  async #consume(
    tx: QuotasTx,
    command: { userRef: string; metric: string; units: bigint; ref: string },
    now: Date,
    storedKey: string,
  ): Promise<ConsumeResult> {
    const { plan } = this.#effective(await tx.plan(command.userRef), now);
    const quota = requireQuota(plan, command.metric, "metric");
    const window = windowAt(quota.window, now, this.timeZone);
    const [counter] = await tx.lockCounters(command.userRef, [
      { metric: quota.metric, kind: quota.window, start: window.start },
    ]);
    if (counter === undefined) throw new Error("quota invariant: the counter was not locked");
    if (!fits(quota.limitUnits, counter.extraUnits, counter.usedUnits, command.units)) {
      throw quotaExceeded(command, plan, metricQuota(quota, window, counter));
    }
    counter.usedUnits += command.units;
    counter.updatedAt = now;
    if (counter.usedUnits > quota.limitUnits + counter.extraUnits) {
      throw new Error("quota invariant: a consumption overran its window");
    }
    tx.recordEffect(quotaEffect("quota_debit", { ...command, plan: plan.code, key: storedKey }));
    return { planCode: plan.code, quota: metricQuota(quota, window, counter) };
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
    return this.#store.transaction(async (tx) => {
      const now = this.clock.now();
      return runCommand(
        tx.answers(() => now),
        spec,
        async () => {
          const { plan } = this.#effective(await tx.plan(command.userRef), now);
          const lines = command.units.map((line, index) => {
            const quota = requireQuota(plan, line.metric, `units[${index}].metric`);
            return { line, quota, window: windowAt(quota.window, now, this.timeZone) };
          });
          const counters = await tx.lockCounters(
            command.userRef,
            lines.map(({ quota, window }) => ({
              metric: quota.metric,
              kind: quota.window,
              start: window.start,
            })),
          );
          for (const { line } of lines) {
            tx.recordEffect(
              quotaEffect("quota_credit", { ...command, ...line, plan: plan.code, key: spec.key.stored }),
            );
          }
          return {
            metrics: lines.map(({ line, quota, window }) => {
              const counter = counters.find((c) => c.metric === quota.metric);
              if (counter === undefined) throw new Error("quota invariant: the counter was not locked");
              counter.extraUnits += line.units;
              counter.updatedAt = now;
              return metricQuota(quota, window, counter);
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
    const tx = this.#store.inUnitOfWork(uow);
    const { userRef, paymentId, now } = command;
    const plan = planAsBought(this.catalogue, command.planCode, command.periodMonths);
    const done = await tx.activation(paymentId);
    if (done !== undefined) return replayedActivation(done, command);

    const firstUntil = periodEnd(plan, null, now, this.timeZone);
    const locked = await tx.lockOrInsertPlan(userRef, {
      planCode: plan.code,
      until: firstUntil,
      paymentId,
      now,
    });
    if (locked.inserted) return this.#activated(tx, command, plan.code, undefined, firstUntil);
    // Another call with this payment may have committed while this one waited for the lock.
    const twin = await tx.activation(paymentId);
    if (twin !== undefined) return replayedActivation(twin, command);
    const current = locked.row;
    const stored = { planCode: current.planCode, until: current.until ?? null };
    const until = periodEnd(plan, stored, now, this.timeZone);
    const renewing = stored.planCode === plan.code && stored.until !== null && stored.until > now;
    current.planCode = plan.code;
    current.until = until;
    current.source = "PAYMENT";
    current.paymentId = paymentId;
    current.updatedAt = now;
    return this.#activated(tx, command, plan.code, renewing ? (stored.until ?? undefined) : undefined, until);
  }

  async #activated(
    tx: QuotasTx,
    command: { userRef: string; paymentId: string; now: Date },
    planCode: string,
    previousUntil: Date | undefined,
    until: Date | null,
  ): Promise<PlanActivation> {
    const { userRef, paymentId, now } = command;
    await tx.addActivation({
      paymentId,
      userRef,
      planCode,
      previousUntil: previousUntil ?? null,
      until,
      activatedAt: now,
    });
    tx.recordEvent({ kind: "planActivated", userRef, planCode, paymentId, until: until ?? undefined }, now);
    return { activated: true, userRef, planCode, paymentId, previousUntil, until: until ?? undefined };
  }

  #effective(stored: Parameters<typeof effectivePlan>[1], now: Date): EffectivePlan {
    return effectivePlan(this.catalogue, stored, now);
  }
}

/** The activation a payment already made, answered again (activated = false). */
function replayedActivation(
  row: ActivationRow,
  command: { userRef: string; planCode: string; paymentId: string },
): PlanActivation {
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

/**
 * The idempotency key of a ConsumeQuota call. `ref` is the caller's reference and only unique per
 * user, so the key names the user; the ref is hashed so that the key stays within the 200 characters
 * the idempotency table allows whatever the lengths (128 + 128), and so that a user_ref containing
 * ':' cannot make two (user, ref) pairs spell the same key. Derived keys live apart from callers' keys.
 */
export function consumeKey(userRef: string, ref: string): CommandKey {
  return derivedKey("quota:consume", userRef, hash("sha256", ref, "base64url"));
}
