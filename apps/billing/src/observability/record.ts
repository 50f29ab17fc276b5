// Where the ledger, payments and quotas announce their effects: one call at each effect site,
// `recordMoneyEffect(tx, effect)`. Inside a transaction the effect waits for the commit (a rollback
// or a retried attempt drops it); outside one it is announced at once. Each billing server attaches
// its metrics and audit log to its own ORM, so several servers in one process never mix.
import type { EntityManager } from "@mikro-orm/postgresql";
import type { AuditLog } from "./audit.js";
import { type CallerScope, callerScope, type MoneyEffect } from "./effects.js";
import type { MoneyMetrics } from "./money-metrics.js";

export interface MoneyObserver {
  readonly metrics: MoneyMetrics;
  readonly audit: AuditLog;
}

/** Anything of one ORM (the MikroORM instance, any of its EntityManagers) shares its `config`. */
interface OfOrm {
  readonly config: object;
}

const observers = new WeakMap<object, MoneyObserver>();
const waitingForCommit = new WeakMap<EntityManager, { effect: MoneyEffect; scope: CallerScope }[]>();

export function observeMoneyEffects(orm: OfOrm, observer: MoneyObserver): void {
  observers.set(orm.config, observer);
}

/** The observer of this ORM, if its server attached one (contexts built bare in tests have none). */
export function moneyObserverOf(orm: OfOrm): MoneyObserver | undefined {
  return observers.get(orm.config);
}

export function recordMoneyEffect(em: EntityManager, effect: MoneyEffect, scope = callerScope()): void {
  const observer = observers.get(em.config);
  if (observer === undefined) return;
  if (!em.isInTransaction()) return announce(observer, effect, scope);
  let waiting = waitingForCommit.get(em);
  if (waiting === undefined) {
    const list: { effect: MoneyEffect; scope: CallerScope }[] = [];
    waiting = list;
    waitingForCommit.set(em, list);
    // The transaction's EntityManager has an event manager of its own: this fires once, for it.
    em.getEventManager().registerSubscriber({
      afterTransactionCommit: () => {
        for (const item of list.splice(0)) announce(observer, item.effect, item.scope);
      },
    });
  }
  waiting.push({ effect, scope });
}

/** Effects of a transaction that just committed outside MikroORM (the ledger's set-based hot path). */
export function announceCommitted(
  orm: OfOrm,
  effects: readonly { effect: MoneyEffect; scope: CallerScope }[],
): void {
  const observer = observers.get(orm.config);
  if (observer === undefined) return;
  for (const item of effects) announce(observer, item.effect, item.scope);
}

function announce(observer: MoneyObserver, effect: MoneyEffect, scope: CallerScope): void {
  try {
    observer.metrics.count(effect);
    observer.audit.write(effect, scope);
  } catch {
    // Observing must never fail a command that has already committed.
  }
}
