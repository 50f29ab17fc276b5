// The quotas' store: the only code of quotas that touches SQL or an EntityManager. Reads run outside
// transactions; a QuotasTx is one transaction, whose counters are locked in one key order (metric,
// then window) so that two commands touching the same counters never wait on each other in a cycle.
// Rows handed out by a QuotasTx are managed: what the caller changes on them commits with it.
import { LockMode } from "@mikro-orm/postgresql";
import { type AnswerBook, entityAnswerBook } from "../commands/index.js";
import type { Database, EntityManager } from "../db/database.js";
import { QuotaCounter, QuotaPlanActivation, QuotaUserPlan } from "../db/quota-entities.js";
import { entityManagerOf } from "../db/unit-of-work.js";
import type { DomainEvent } from "../domain/events.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import type { MoneyEffect } from "../observability/effects.js";
import { moneyObserverOf, recordMoneyEffect } from "../observability/record.js";
import { recordEvent } from "../outbox/outbox.js";
import { compareCounterKeys, type CounterKey, type StoredPlan } from "./rules.js";

export type CounterRow = QuotaCounter;

/** A payment's activation of a plan, as stored. */
export interface ActivationRow {
  readonly paymentId: string;
  readonly userRef: string;
  readonly planCode: string;
  readonly previousUntil: Date | null;
  readonly until: Date | null;
  readonly activatedAt: Date;
}

export class QuotasStore {
  constructor(private readonly db: Database) {}

  transaction<T>(work: (tx: QuotasTx) => Promise<T>): Promise<T> {
    return this.db.transaction((em) => work(new QuotasTx(em)));
  }

  /** The unit of work of another context's transaction (the payment that bought a plan). */
  inUnitOfWork(uow: UnitOfWork): QuotasTx {
    return new QuotasTx(entityManagerOf(uow));
  }

  plan(userRef: string): Promise<StoredPlan | null> {
    return planRow(this.db.reader(), userRef);
  }

  /** The counters of these windows that exist (a window without one has used nothing). */
  async counters(userRef: string, keys: readonly CounterKey[]): Promise<CounterRow[]> {
    if (keys.length === 0) return [];
    return this.db.reader().find(QuotaCounter, {
      $or: keys.map((k) => ({ userRef, metric: k.metric, windowKind: k.kind, windowStart: k.start })),
    });
  }

  /** A refused consumption, for the operators' quota-exceeded signal. */
  countExceeded(metric: string, planCode: string): void {
    moneyObserverOf(this.db.orm)?.metrics.quotaExceeded(metric, planCode);
  }
}

export class QuotasTx {
  constructor(private readonly tx: EntityManager) {}

  /** The idempotency answers of this transaction. */
  answers(now: () => Date): AnswerBook {
    return entityAnswerBook(this.tx, now);
  }

  plan(userRef: string): Promise<StoredPlan | null> {
    return planRow(this.tx, userRef);
  }

  /** Puts a user on a plan by an operator's word (no payment), replacing any assignment. */
  async assignPlan(userRef: string, planCode: string, until: Date | null, now: Date): Promise<void> {
    await this.tx.execute(
      `insert into quota_user_plans (user_ref, plan_code, until, source, payment_id, updated_at)
       values (?, ?, ?, 'ADMIN', null, ?)
       on conflict (user_ref) do update set plan_code = excluded.plan_code, until = excluded.until,
         source = excluded.source, payment_id = null, updated_at = excluded.updated_at`,
      [userRef, planCode, until, now],
    );
  }

  /** Creates the counters of these windows if absent and locks them, in key order. */
  async lockCounters(userRef: string, keys: readonly CounterKey[]): Promise<CounterRow[]> {
    const sorted = [...keys].sort(compareCounterKeys);
    await this.tx.execute(
      `insert into quota_counters (user_ref, metric, window_kind, window_start, updated_at)
       values ${sorted.map(() => "(?, ?, ?, ?, ?)").join(", ")}
       on conflict (user_ref, metric, window_kind, window_start) do nothing`,
      sorted.flatMap((k) => [userRef, k.metric, k.kind, k.start, k.start]),
    );
    const counters = await this.tx.find(
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

  /** The activation this payment made, if any (read fresh: a concurrent twin may have committed). */
  async activation(paymentId: string): Promise<ActivationRow | undefined> {
    const row = await this.tx.findOne(QuotaPlanActivation, { paymentId }, { refresh: true });
    if (row === null) return undefined;
    return { ...row, previousUntil: row.previousUntil ?? null, until: row.until ?? null };
  }

  /**
   * The user's plan row, locked. Absent, a first row of this plan is inserted instead: a concurrent
   * activation for the same user makes that insert wait, then conflict, and the row that one
   * committed is locked like any other. `inserted` says which happened.
   */
  async lockOrInsertPlan(
    userRef: string,
    first: { planCode: string; until: Date | null; paymentId: string; now: Date },
  ): Promise<{ inserted: true } | { inserted: false; row: QuotaUserPlan }> {
    const lock = () =>
      this.tx.findOne(QuotaUserPlan, { userRef }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    const current = await lock();
    if (current !== null) return { inserted: false, row: current };
    const inserted = await this.tx.execute<{ user_ref: string }[]>(
      `insert into quota_user_plans (user_ref, plan_code, until, source, payment_id, updated_at)
       values (?, ?, ?, 'PAYMENT', ?, ?) on conflict (user_ref) do nothing returning user_ref`,
      [userRef, first.planCode, first.until, first.paymentId, first.now],
    );
    if (inserted.length === 1) return { inserted: true };
    const committed = await lock();
    if (committed === null) throw new Error("quota invariant: a conflicting plan row vanished");
    return { inserted: false, row: committed };
  }

  /** Records the activation, and writes it now so that a second call in this transaction finds it. */
  async addActivation(row: ActivationRow): Promise<void> {
    this.tx.create(QuotaPlanActivation, { ...row });
    await this.tx.flush();
  }

  recordEvent(event: DomainEvent, at: Date): void {
    recordEvent(this.tx, event, at);
  }

  recordEffect(effect: MoneyEffect): void {
    recordMoneyEffect(this.tx, effect);
  }
}

async function planRow(em: EntityManager, userRef: string): Promise<StoredPlan | null> {
  const row = await em.findOne(QuotaUserPlan, { userRef });
  return row === null ? null : { planCode: row.planCode, until: row.until ?? null };
}
