// Payments through YooKassa and Telegram Stars. The shape of every provider-facing command is the same:
//   1. one transaction stores the intent (the payment or refund row, its own Idempotence-Key, the
//      exact request, the caller's idempotency key) and commits (commands/);
//   2. YooKassa is called outside any transaction, with the stored key and request, as often as it
//      takes (the client's bounded retries now; replays, SyncPayment and the sweep later);
//   3. one transaction locks the row and applies what YooKassa answered (lifecycle/): statuses only
//      move forward, and the credit (or the take-back) commits with the status change and its event.
// Notifications only name an object: billing re-reads it with GET and applies that answer.
// Telegram Stars differ only where Telegram does: the payment is pending at once (the bot sends the
// invoice), and Telegram pushes its outcome (lifecycle/stars-payment.ts); refunds go through the
// same refund lifecycle with refundStarPayment as the create call.
import type { PaymentsConfig } from "@billing/config";
import type { Logger } from "@billing/observability";
import { PAYMENT_NOTIFICATION_EVENTS, type YooKassaClient } from "@billing/yookassa";
import type { Database } from "../db/database.js";
import type { Clock } from "../domain/clock.js";
import { priceOf, storeTopUp } from "./commands/create-top-up.js";
import { storeRefund } from "./commands/refund-payment.js";
import { nextSyncAt, providerOf, type PaymentsContext } from "./context.js";
import { Lifecycle } from "./lifecycle/lifecycle.js";
import { paymentSubject } from "./lifecycle/payment-subject.js";
import { type RefundAndPayment, refundSubject } from "./lifecycle/refund-subject.js";
import { checkStarsPayment, completeStarsPayment, expireStarsPayment } from "./lifecycle/stars-payment.js";
import { sweep, sweepTarget } from "./lifecycle/sweep.js";
import { starsRefunderOf, type StarsRefunder } from "./stars/telegram-refunds.js";
import type { PlanPurchases } from "./plans.js";
import type { CreditsPort } from "./ports.js";
import {
  type AskedPurchase,
  decodePageToken,
  encodePageToken,
  PAYMENTS_PAGE_SIZE_DEFAULT,
  type PurchaseViolation,
  resolvePurchase,
  starsDisabled,
  starsRefundsDisabled,
  starsEnabled,
  throwIfRefusedByBilling,
  topUpOptionsOf,
} from "./rules.js";
import { PaymentsStore, type PaymentRow, type RefundRow } from "./store/store.js";
import { viewOf } from "./store/views.js";
import type { Payment as ProviderPayment, Refund as ProviderRefund } from "@billing/yookassa";
import type {
  CreateTopUpCommand,
  PaymentView,
  Purchase,
  RefundPaymentCommand,
  StarsChargeCommand,
  SyncResult,
  TopUpOptions,
} from "./types.js";

/** Kept here for callers of the old module; the rule lives in rules/lifecycle.ts. */
export { CREATE_ABANDON_AFTER_MS } from "./rules.js";

export interface PaymentsOptions {
  readonly db: Database;
  readonly ledger: CreditsPort;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: PaymentsConfig;
  /** Undefined when no shop is configured: only ListTopUpOptions and reads work. */
  readonly provider: YooKassaClient | undefined;
  readonly plans: PlanPurchases;
  /** Telegram's refundStarPayment; by default from config.stars.telegram (undefined: no refunds). */
  readonly stars?: StarsRefunder | undefined;
}

export class Payments {
  readonly #context: PaymentsContext;
  readonly #payments: Lifecycle<PaymentRow, ProviderPayment, PaymentView>;
  readonly #refunds: Lifecycle<RefundRow, ProviderRefund, RefundAndPayment>;

  constructor(options: PaymentsOptions) {
    const { db, provider, stars, ...rest } = options;
    this.#context = {
      ...rest,
      store: new PaymentsStore(db),
      yookassa: provider,
      stars: "stars" in options ? stars : starsRefunderOf(options.config.stars.telegram, options.log),
    };
    const onMismatch = () => this.#context.store.countMismatch();
    this.#payments = new Lifecycle(paymentSubject(this.#context), options.clock, options.log, onMismatch);
    this.#refunds = new Lifecycle(refundSubject(this.#context), options.clock, options.log, onMismatch);
  }

  get config(): PaymentsConfig {
    return this.#context.config;
  }

  topUpOptions(): TopUpOptions {
    return topUpOptionsOf(this.#context.config);
  }

  /** The purchase as the catalogue prices it, or the request field it refuses. */
  resolvePurchase(asked: AskedPurchase): { purchase: Purchase } | { violation: PurchaseViolation } {
    return resolvePurchase(this.#context.config, asked);
  }

  /**
   * Stores the payment (CREATING, with its own Idempotence-Key and request), then creates it at
   * YooKassa. A replay of the same request answers the same payment, resuming the create if it never
   * got an answer; it never creates a second payment at YooKassa.
   */
  async createTopUp(command: CreateTopUpCommand): Promise<PaymentView> {
    if (command.purchase.kind !== "stars") providerOf(this.#context);
    else if (!starsEnabled(this.#context.config)) throw starsDisabled();
    const bought = await priceOf(this.#context, command.purchase);
    await this.#context.ledger.getBalance(command.userRef);
    const payment = await this.#context.store.payment(await storeTopUp(this.#context, command, bought));
    if (payment.status === "CREATING") return (await this.#payments.resume(payment)).view;
    throwIfRefusedByBilling(payment);
    return viewOf(payment);
  }

  async getPayment(paymentId: string): Promise<PaymentView> {
    return viewOf(await this.#context.store.payment(paymentId));
  }

  /** A user's payments, newest first, paged by an opaque token. */
  async listPayments(query: {
    userRef: string;
    pageSize: number;
    pageToken: string;
  }): Promise<{ payments: PaymentView[]; nextPageToken: string }> {
    const pageSize = query.pageSize === 0 ? PAYMENTS_PAGE_SIZE_DEFAULT : query.pageSize;
    const rows = await this.#context.store.paymentsPage(
      query.userRef,
      decodePageToken(query.pageToken),
      pageSize + 1,
    );
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    return {
      payments: page.map(viewOf),
      nextPageToken: rows.length > pageSize && last !== undefined ? encodePageToken(last.seq) : "",
    };
  }

  /**
   * A YooKassa notification names an event and an object; the object is re-read with GET and
   * YooKassa's answer applied. Events billing does not act on, and objects it did not create, are
   * IGNORED.
   */
  async handleNotification(notification: { event: string; objectId: string }): Promise<SyncResult> {
    if ((PAYMENT_NOTIFICATION_EVENTS as readonly string[]).includes(notification.event)) {
      const settled = await this.#payments.notified(notification.objectId);
      return settled === undefined ? ignored() : { outcome: settled.outcome, payment: settled.view };
    }
    if (notification.event === "refund.succeeded") {
      const settled = await this.#refunds.notified(notification.objectId);
      return settled === undefined ? ignored() : { outcome: settled.outcome, payment: settled.view.payment };
    }
    return ignored();
  }

  /** Operator: re-read one payment (or resume its create) and apply what YooKassa says. */
  async syncPayment(paymentId: string): Promise<SyncResult> {
    const settled = await this.#sync(await this.#context.store.payment(paymentId));
    return { outcome: settled.outcome, payment: settled.view };
  }

  /** Telegram's pre_checkout_query: the pending payment, or why Telegram must not take the money. */
  checkStarsPayment(order: {
    userRef: string;
    invoicePayload: string;
    currency: string;
    totalAmount: bigint;
  }): Promise<PaymentView> {
    return checkStarsPayment(this.#context, order);
  }

  /** Telegram's successful_payment: credited once per telegram_payment_charge_id. */
  async completeStarsPayment(charge: StarsChargeCommand): Promise<SyncResult> {
    const settled = await completeStarsPayment(this.#context, charge);
    return { outcome: settled.outcome, payment: settled.view };
  }

  /** A Stars payment has nothing to re-read: only its invoice can expire. */
  #sync(row: PaymentRow) {
    if (row.provider === "TELEGRAM_STARS") return expireStarsPayment(this.#context, row);
    providerOf(this.#context);
    return this.#payments.sync(row);
  }

  /**
   * Operator: refund a succeeded top-up through YooKassa, then take its credits back once YooKassa
   * says the refund succeeded. Without `force` it is refused up front when the user no longer has
   * the credits; once the money has gone back, billing takes what is still available.
   */
  async refundPayment(command: RefundPaymentCommand): Promise<RefundAndPayment> {
    const paid = await this.#context.store.payment(command.paymentId);
    if (paid.provider === "YOOKASSA") providerOf(this.#context);
    else if (this.#context.stars === undefined) throw starsRefundsDisabled();
    const refund = await this.#context.store.refund(await storeRefund(this.#context, command));
    if (refund.status === "CREATING") return (await this.#refunds.resume(refund)).view;
    throwIfRefusedByBilling(refund);
    return this.#refunds.viewOf(refund);
  }

  /**
   * Re-reads up to `limit` unsettled payments and up to `limit` refunds whose time came, and resumes
   * creates that never got an answer. Instances side by side share the work.
   */
  async sweep(limit: number): Promise<{ payments: number; refunds: number }> {
    const context = this.#context;
    const now = context.clock.now();
    const { store } = context;
    // Without a shop only Stars rows can move; YooKassa rows stay due until a shop is configured.
    const [payments = 0, refunds = 0] = await sweep(
      store,
      context.log,
      { now, next: nextSyncAt(context, now), limit },
      [
        { table: "payments", sync: async (id) => this.#sync(await store.payment(id)) },
        sweepTarget("payment_refunds", (id) => store.refund(id), this.#refunds),
      ],
    );
    return { payments, refunds };
  }
}

function ignored(): SyncResult {
  return { outcome: "IGNORED", payment: undefined };
}
