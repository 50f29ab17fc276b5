// What the one lifecycle (lifecycle.ts) needs of the things billing creates at YooKassa: payments
// (payment-subject.ts) and refunds (refund-subject.ts) each implement it.
import type { LifecycleStatus, TrackedKind } from "../rules.js";
import type { NotificationOutcomeCode } from "../types.js";

export interface Settled<V> {
  readonly outcome: NotificationOutcomeCode;
  readonly view: V;
}

export type Applied<V> = ({ kind: "applied" } & Settled<V>) | { kind: "mismatch"; problems: string[] };

export interface TrackedRow {
  readonly id: string;
  readonly status: LifecycleStatus;
  readonly createdAt: Date;
}

export interface TrackedRemote {
  readonly id: string;
}

export interface Subject<Row extends TrackedRow, Remote extends TrackedRemote, View> {
  readonly kind: TrackedKind;
  load(id: string): Promise<Row>;
  viewOf(row: Row): Promise<View>;
  /** YooKassa's id, once an answer named it. */
  providerIdOf(row: Row): string | null | undefined;
  /** POST with the stored Idempotence-Key and request. */
  create(row: Row): Promise<Remote>;
  /** GET by YooKassa's id. */
  read(providerId: string): Promise<Remote>;
  /** What YooKassa made of a create whose answer never came, or undefined when it made nothing. */
  lookUp(row: Row): Promise<Remote | undefined>;
  /** Applies YooKassa's object under the row's lock, with its effects, in one transaction. */
  apply(id: string, remote: Remote): Promise<Applied<View>>;
  /** Billing cancels a create itself; a row no longer creating is left as it is. */
  giveUp(id: string, reason: string): Promise<Settled<View>>;
  byProviderId(providerId: string): Promise<Row | null>;
  /** The row YooKassa's object claims (by its metadata) if no provider id was stored for it. */
  unlinked(claimedId: string): Promise<Row | null>;
  claimedIdOf(remote: Remote): string;
}
