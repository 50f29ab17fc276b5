// The payments' store: the only code of payments that touches SQL or an EntityManager. Reads run
// outside transactions; a PaymentsTx is one transaction, whose rows are locked in the one order used
// everywhere — the payment, then its refunds, then (through the ports) the accounts. Rows handed out
// by a PaymentsTx are managed: what the caller changes on them commits with the transaction.
import type { AnswerBook } from "../../commands/index.js";
import { entityAnswerBook } from "../../commands/index.js";
import type { Database, EntityManager } from "../../db/database.js";
import { Payment, PaymentRefund } from "../../db/payment-entities.js";
import { unitOfWork } from "../../db/unit-of-work.js";
import type { DomainEvent } from "../../domain/events.js";
import type { UnitOfWork } from "../../domain/unit-of-work.js";
import { LockMode } from "@mikro-orm/postgresql";
import { recordEvent } from "../../outbox/outbox.js";
import type { MoneyEffect } from "../../observability/effects.js";
import { moneyObserverOf, recordMoneyEffect } from "../../observability/record.js";
import { paymentNotFound } from "../rules.js";

export type PaymentRow = Payment;
export type RefundRow = PaymentRefund;
export type NewPaymentRow = Omit<Payment, "seq">;
export type NewRefundRow = Omit<PaymentRefund, "seq">;

/** The tables the sweep re-reads from. */
export type TrackedTable = "payments" | "payment_refunds";

export class PaymentsStore {
  constructor(private readonly db: Database) {}

  /** A payment or refund YooKassa's answer disagrees with (counted for the mismatch alert). */
  countMismatch(): void {
    moneyObserverOf(this.db.orm)?.metrics.paymentMismatch();
  }

  transaction<T>(work: (tx: PaymentsTx) => Promise<T>): Promise<T> {
    return this.db.transaction((em) => work(new PaymentsTx(em)));
  }

  async payment(paymentId: string): Promise<PaymentRow> {
    const payment = await this.db.reader().findOne(Payment, { id: paymentId });
    if (payment === null) throw paymentNotFound(paymentId);
    return payment;
  }

  async refund(refundId: string): Promise<RefundRow> {
    const refund = await this.db.reader().findOne(PaymentRefund, { id: refundId });
    if (refund === null) throw new Error(`payments invariant: refund ${refundId} vanished`);
    return refund;
  }

  /** YooKassa's payment (a YooKassa notification can never name a Stars payment). */
  paymentByProviderId(providerPaymentId: string): Promise<PaymentRow | null> {
    return this.db.reader().findOne(Payment, { providerPaymentId, provider: "YOOKASSA" });
  }

  refundByProviderId(providerRefundId: string): Promise<RefundRow | null> {
    return this.db.reader().findOne(PaymentRefund, { providerRefundId });
  }

  /** Billing's payment that YooKassa's object claims, if no provider id was ever stored for it. */
  unlinkedPayment(paymentId: string): Promise<PaymentRow | null> {
    return this.db
      .reader()
      .findOne(Payment, { id: paymentId, providerPaymentId: null, provider: "YOOKASSA" });
  }

  unlinkedRefund(refundId: string): Promise<RefundRow | null> {
    return this.db.reader().findOne(PaymentRefund, { id: refundId, providerRefundId: null });
  }

  /** Up to `limit` payments of a user older than `beforeSeq`, newest first. */
  paymentsPage(userRef: string, beforeSeq: bigint, limit: number): Promise<PaymentRow[]> {
    return this.db
      .reader()
      .find(Payment, { userRef, seq: { $lt: beforeSeq } }, { orderBy: { seq: "desc" }, limit });
  }

  /**
   * Claims up to `limit` rows due for a re-read by moving their next_sync_at to `next`, under
   * FOR UPDATE SKIP LOCKED: instances side by side share the work and none re-reads a claimed row.
   */
  async claimDue(table: TrackedTable, now: Date, next: Date, limit: number): Promise<string[]> {
    const rows = await this.db.transaction((tx) =>
      tx.execute<{ id: string }[]>(
        `update ${table} set next_sync_at = ?
          where id in (select id from ${table} where next_sync_at <= ?
                        order by next_sync_at limit ? for update skip locked)
        returning id`,
        [next, now, limit],
      ),
    );
    return rows.map((row) => row.id);
  }
}

/** One transaction of payments. */
export class PaymentsTx {
  /** The same transaction, opaque, for the other contexts' ports. */
  readonly uow: UnitOfWork;

  constructor(private readonly em: EntityManager) {
    this.uow = unitOfWork(em);
  }

  answerBook(now: Date): AnswerBook {
    return entityAnswerBook(this.em, () => now);
  }

  async lockPayment(paymentId: string): Promise<PaymentRow> {
    const payment = await this.lockPaymentIfAny(paymentId);
    if (payment === null) throw paymentNotFound(paymentId);
    return payment;
  }

  lockPaymentIfAny(paymentId: string): Promise<PaymentRow | null> {
    return this.em.findOne(Payment, { id: paymentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /** Locks a refund and, first, its payment (the one lock order). */
  async lockRefund(refundId: string): Promise<{ payment: PaymentRow; refund: RefundRow }> {
    const found = await this.em.findOne(PaymentRefund, { id: refundId });
    if (found === null) throw new Error(`payments invariant: refund ${refundId} vanished`);
    const payment = await this.lockPayment(found.paymentId);
    const refund = await this.em.findOne(
      PaymentRefund,
      { id: refundId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    if (refund === null) throw new Error(`payments invariant: refund ${refundId} vanished`);
    return { payment, refund };
  }

  /** The payment's refunds that are open or succeeded (they hold part of what can be refunded). */
  openOrSucceededRefunds(paymentId: string): Promise<RefundRow[]> {
    return this.em.find(PaymentRefund, { paymentId, status: { $ne: "CANCELED" } });
  }

  insertPayment(row: NewPaymentRow): PaymentRow {
    return this.em.create(Payment, row);
  }

  insertRefund(row: NewRefundRow): void {
    this.em.create(PaymentRefund, row);
  }

  /** A money effect (metrics, audit), announced once this transaction has committed. */
  observe(effect: MoneyEffect): void {
    recordMoneyEffect(this.em, effect);
  }

  /** An outbox event, committed with this transaction or not at all. */
  record(event: DomainEvent, at: Date): void {
    recordEvent(this.em, event, at);
  }
}
