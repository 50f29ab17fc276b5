// Payments through YooKassa. The shape of every provider-facing command is the same:
//   1. one transaction stores the intent (the payment or refund row, its own Idempotence-Key, the
//      exact request, the caller's idempotency key) and commits;
//   2. YooKassa is called outside any transaction, with the stored key and request, as often as it
//      takes (the client's bounded retries now; replays, SyncPayment and the sweep later);
//   3. one transaction locks the row and applies what YooKassa answered: statuses only move forward,
//      and the credit (or the take-back) commits with the status change and its outbox event.
// Notifications only name an object: billing re-reads it with GET and applies that answer.
import { randomUUID } from "node:crypto";
import type { PaymentsConfig } from "@billing/config";
import type { Logger } from "@billing/observability";
import {
  isYooKassaError,
  PAYMENT_NOTIFICATION_EVENTS,
  type Payment as ProviderPayment,
  type Refund as ProviderRefund,
  type YooKassaClient,
} from "@billing/yookassa";
import { LockMode } from "@mikro-orm/postgresql";
import type { Database, EntityManager } from "../db/database.js";
import { callerKey, entityAnswerBook, runCommand } from "../commands/index.js";
import { Payment, PaymentRefund } from "../db/payment-entities.js";
import type { Clock } from "../domain/clock.js";
import { DomainError, invalidFields } from "../domain/errors.js";
import { unitOfWork } from "../db/unit-of-work.js";
import type { CreditsPort } from "./ports.js";
import { recordEvent } from "../outbox/outbox.js";
import type { PlanPurchases } from "./plans.js";
import { isDefinitiveRefusal, paymentsDisabled, providerFailure } from "./provider.js";
import {
  paymentRequestOf,
  refundRequestOf,
  type StoredPaymentRequest,
  storedPaymentRequest,
  type StoredRefundRequest,
  storedRefundRequest,
} from "./requests.js";
import {
  CURRENCY,
  idempotenceKeyFor,
  mismatchesOf,
  refundCredits,
  refundTransitionOf,
  renderDescription,
  statusOf,
  topUpPackages,
  transitionOf,
} from "./rules.js";
import type {
  CreateTopUpCommand,
  NotificationOutcomeCode,
  PaymentView,
  Purchase,
  RefundPaymentCommand,
  RefundView,
  SyncResult,
  TopUpOptions,
} from "./types.js";

export interface PaymentsOptions {
  readonly db: Database;
  readonly ledger: CreditsPort;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: PaymentsConfig;
  /** Undefined when no shop is configured: only ListTopUpOptions and reads work. */
  readonly provider: YooKassaClient | undefined;
  readonly plans: PlanPurchases;
}

export const PAYMENTS_PAGE_SIZE_DEFAULT = 20;
export const PAYMENTS_PAGE_SIZE_MAX = 100;
/**
 * YooKassa honours an Idempotence-Key for 24 h. A create still unanswered after this long is given
 * up (canceled locally) instead of resumed: past 24 h the same key could create a second payment.
 * Nobody can have paid it: its confirmation URL was never handed out.
 */
export const CREATE_ABANDON_AFTER_MS = 23 * 60 * 60 * 1000;
/** What billing writes as the canceling party when it gives up a payment or refund itself. */
export const BILLING_PARTY = "billing";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Applied<V> =
  { kind: "applied"; outcome: NotificationOutcomeCode; view: V } | { kind: "mismatch"; problems: string[] };

export class Payments {
  constructor(private readonly o: PaymentsOptions) {}

  get config(): PaymentsConfig {
    return this.o.config;
  }

  topUpOptions(): TopUpOptions {
    return {
      packages: topUpPackages(this.o.config),
      customMinAmountMinor: this.o.config.customMinAmountMinor,
      customMaxAmountMinor: this.o.config.customMaxAmountMinor,
      currency: this.o.config.currency,
      receiptRequired: this.o.config.receipts !== undefined,
    };
  }

  /**
   * Stores the payment (CREATING, with its own Idempotence-Key and request), then creates it at
   * YooKassa. A replay of the same request answers the same payment, resuming the create if it never
   * got an answer; it never creates a second payment at YooKassa.
   */
  async createTopUp(command: CreateTopUpCommand): Promise<PaymentView> {
    this.#provider();
    const bought = await this.#priceOf(command.purchase);
    await this.o.ledger.getBalance(command.userRef);
    // What the caller asked for, not what the catalogue made of it: a changed price list must not
    // turn a replay into IDEMPOTENCY_KEY_REUSED.
    const spec = {
      name: "CreateTopUp",
      key: callerKey(command.idempotencyKey),
      request: { ...command, purchase: askedFor(command.purchase) },
    };
    const { paymentId } = await this.o.db.transaction(async (tx) => {
      const now = this.o.clock.now();
      return runCommand(
        entityAnswerBook(tx, () => now),
        spec,
        () => {
          const id = randomUUID();
          const description = renderDescription(
            bought.purpose === "PLAN" ? this.o.config.planDescription : this.o.config.description,
            { amountMinor: bought.amountMinor, credits: bought.credits, planTitle: bought.planTitle },
          );
          const receipts = this.o.config.receipts;
          const request: StoredPaymentRequest = {
            amountMinor: bought.amountMinor.toString(),
            currency: CURRENCY,
            returnUrl: command.returnUrl === "" ? (this.o.config.returnUrl ?? "") : command.returnUrl,
            description,
            metadata: { billing_payment_id: id, user_ref: command.userRef },
            ...(receipts === undefined
              ? {}
              : {
                  receipt: {
                    ...(command.customerEmail === "" ? {} : { email: command.customerEmail }),
                    ...(command.customerPhone === "" ? {} : { phone: command.customerPhone }),
                    itemDescription: description,
                    vatCode: receipts.vatCode,
                    paymentSubject: receipts.paymentSubject,
                    paymentMode: receipts.paymentMode,
                  },
                }),
          };
          tx.create(Payment, {
            id,
            userRef: command.userRef,
            purpose: bought.purpose,
            packageCode: bought.packageCode,
            planCode: bought.planCode,
            amountMinor: bought.amountMinor,
            currency: CURRENCY,
            credits: bought.credits,
            status: "CREATING",
            requestKey: command.idempotencyKey,
            idempotenceKey: idempotenceKeyFor("payment", id),
            createRequest: request,
            providerPaymentId: null,
            confirmationUrl: null,
            test: null,
            cancellationParty: null,
            cancellationReason: null,
            refundedAmountMinor: 0n,
            creditTransferId: null,
            createdAt: now,
            updatedAt: now,
            creditedAt: null,
            nextSyncAt: this.#nextSync(now),
          });
          return { paymentId: id };
        },
      );
    });
    const payment = await this.#load(this.o.db.reader(), paymentId);
    if (payment.status === "CREATING") return (await this.#resumeCreate(payment)).view;
    throwIfRefusedByBilling(payment);
    return viewOf(payment);
  }

  async getPayment(paymentId: string): Promise<PaymentView> {
    return viewOf(await this.#load(this.o.db.reader(), paymentId));
  }

  /** A user's payments, newest first, paged by an opaque token. */
  async listPayments(query: {
    userRef: string;
    pageSize: number;
    pageToken: string;
  }): Promise<{ payments: PaymentView[]; nextPageToken: string }> {
    const pageSize = query.pageSize === 0 ? PAYMENTS_PAGE_SIZE_DEFAULT : query.pageSize;
    const before = decodePageToken(query.pageToken);
    const rows = await this.o.db
      .reader()
      .find(
        Payment,
        { userRef: query.userRef, seq: { $lt: before } },
        { orderBy: { seq: "desc" }, limit: pageSize + 1 },
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
    if ((PAYMENT_NOTIFICATION_EVENTS as readonly string[]).includes(notification.event))
      return this.#syncProviderPayment(notification.objectId);
    if (notification.event === "refund.succeeded") return this.#syncProviderRefund(notification.objectId);
    return { outcome: "IGNORED", payment: undefined };
  }

  /** Operator: re-read one payment (or resume its create) and apply what YooKassa says. */
  async syncPayment(paymentId: string): Promise<SyncResult> {
    this.#provider();
    const payment = await this.#load(this.o.db.reader(), paymentId);
    const result = await this.#sync(payment);
    return { outcome: result.outcome, payment: result.view };
  }

  /**
   * Operator: refund a succeeded top-up through YooKassa, then take its credits back once YooKassa
   * says the refund succeeded. Without `force` it is refused up front when the user no longer has
   * the credits; once the money has gone back, billing takes what is still available.
   */
  async refundPayment(command: RefundPaymentCommand): Promise<{ refund: RefundView; payment: PaymentView }> {
    this.#provider();
    const spec = { name: "RefundPayment", key: callerKey(command.idempotencyKey), request: command };
    const { refundId } = await this.o.db.transaction(async (tx) => {
      const payment = await tx.findOne(
        Payment,
        { id: command.paymentId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (payment === null) throw paymentNotFound(command.paymentId);
      const now = this.o.clock.now();
      return runCommand(
        entityAnswerBook(tx, () => now),
        spec,
        async () => {
          if (payment.status !== "SUCCEEDED" || payment.providerPaymentId == null) {
            throw paymentState(
              payment,
              `payment ${payment.id} is ${payment.status}; only succeeded payments are refunded`,
            );
          }
          if (payment.purpose !== "CREDITS") {
            throw paymentState(payment, "plan purchases are not refunded through RefundPayment");
          }
          const others = await tx.find(PaymentRefund, { paymentId: payment.id, status: { $ne: "CANCELED" } });
          const allocatedMinor = others.reduce((sum, refund) => sum + refund.amountMinor, 0n);
          const refundableMinor = payment.amountMinor - allocatedMinor;
          if (refundableMinor <= 0n)
            throw paymentState(payment, `payment ${payment.id} is already refunded in full`);
          const amountMinor = command.amountMinor === 0n ? refundableMinor : command.amountMinor;
          if (amountMinor > refundableMinor) {
            throw invalidFields([
              {
                field: "amount_minor",
                description: `must be at most ${refundableMinor} (what is not yet refunded)`,
              },
            ]);
          }
          const credits = refundCredits({
            credits: payment.credits,
            amountMinor: payment.amountMinor,
            allocatedMinor,
            refundMinor: amountMinor,
          });
          if (!command.force) {
            const { creditsAvailable } = await this.o.ledger.balanceIn(unitOfWork(tx), payment.userRef);
            if (creditsAvailable < credits) {
              throw new DomainError(
                "CREDITS_ALREADY_SPENT",
                `the user has ${creditsAvailable} credits available, fewer than the ${credits} this refund takes back; pass force to refund anyway`,
                {
                  metadata: {
                    credits_available: creditsAvailable.toString(),
                    credits_to_take: credits.toString(),
                  },
                },
              );
            }
          }
          const id = randomUUID();
          const paid = storedPaymentRequest(payment.createRequest);
          const request: StoredRefundRequest = {
            providerPaymentId: payment.providerPaymentId,
            amountMinor: amountMinor.toString(),
            currency: payment.currency,
            description: command.reason,
            metadata: { billing_refund_id: id, billing_payment_id: payment.id },
            ...(paid.receipt === undefined ? {} : { receipt: paid.receipt }),
          };
          tx.create(PaymentRefund, {
            id,
            paymentId: payment.id,
            userRef: payment.userRef,
            status: "CREATING",
            amountMinor,
            currency: payment.currency,
            creditsToReverse: credits,
            creditsReversed: null,
            force: command.force,
            reason: command.reason,
            requestKey: command.idempotencyKey,
            idempotenceKey: idempotenceKeyFor("refund", id),
            createRequest: request,
            providerRefundId: null,
            reverseTransferId: null,
            cancellationParty: null,
            cancellationReason: null,
            createdAt: now,
            updatedAt: now,
            succeededAt: null,
            nextSyncAt: this.#nextSync(now),
          });
          return { refundId: id };
        },
      );
    });
    const refund = await this.#loadRefund(this.o.db.reader(), refundId);
    if (refund.status === "CREATING") return this.#resumeRefund(refund);
    throwIfRefusedByBilling(refund);
    const payment = await this.#load(this.o.db.reader(), refund.paymentId);
    return { refund: refundViewOf(refund), payment: viewOf(payment) };
  }

  /**
   * Re-reads up to `limit` unsettled payments and refunds whose time came (a lost notification never
   * loses money) and resumes creates that never got an answer. Rows are claimed by moving their
   * next_sync_at forward under FOR UPDATE SKIP LOCKED, so instances running side by side share the
   * work and none re-reads a row another one just claimed.
   */
  async sweep(limit: number): Promise<{ payments: number; refunds: number }> {
    if (this.o.provider === undefined) return { payments: 0, refunds: 0 };
    const now = this.o.clock.now();
    const next = this.#nextSync(now);
    const claim = (table: "payments" | "payment_refunds") =>
      this.o.db.transaction((tx) =>
        tx.execute<{ id: string }[]>(
          `update ${table} set next_sync_at = ?
            where id in (select id from ${table} where next_sync_at <= ?
                          order by next_sync_at limit ? for update skip locked)
          returning id`,
          [next, now, limit],
        ),
      );
    const payments = await claim("payments");
    for (const { id } of payments) {
      try {
        await this.#sync(await this.#load(this.o.db.reader(), id));
      } catch (error) {
        this.o.log.warn(
          { payment_id: id, err: error },
          "sweep could not settle a payment; it is retried later",
        );
      }
    }
    const refunds = await claim("payment_refunds");
    for (const { id } of refunds) {
      try {
        await this.#syncRefund(await this.#loadRefund(this.o.db.reader(), id));
      } catch (error) {
        this.o.log.warn(
          { refund_id: id, err: error },
          "sweep could not settle a refund; it is retried later",
        );
      }
    }
    return { payments: payments.length, refunds: refunds.length };
  }

  // ---- payments ----

  #provider(): YooKassaClient {
    if (this.o.provider === undefined) throw paymentsDisabled();
    return this.o.provider;
  }

  #nextSync(now: Date): Date {
    return new Date(now.getTime() + this.o.config.sweepAgeMs);
  }

  async #priceOf(purchase: Purchase): Promise<{
    purpose: "CREDITS" | "PLAN";
    amountMinor: bigint;
    credits: bigint;
    packageCode: string | null;
    planCode: string | null;
    planTitle: string;
  }> {
    switch (purchase.kind) {
      case "package":
        return { purpose: "CREDITS", ...purchase, planCode: null, planTitle: "" };
      case "amount":
        return { purpose: "CREDITS", ...purchase, packageCode: null, planCode: null, planTitle: "" };
      case "plan": {
        const price = await this.o.plans.priceOf(purchase.planCode);
        if (price === undefined) {
          throw new DomainError("UNKNOWN_PLAN", `no plan '${purchase.planCode}' is for sale`, {
            metadata: { plan_code: purchase.planCode },
          });
        }
        return {
          purpose: "PLAN",
          amountMinor: price.amountMinor,
          credits: 0n,
          packageCode: null,
          planCode: purchase.planCode,
          planTitle: price.title,
        };
      }
    }
  }

  async #load(em: EntityManager, paymentId: string): Promise<Payment> {
    const payment = await em.findOne(Payment, { id: paymentId });
    if (payment === null) throw paymentNotFound(paymentId);
    return payment;
  }

  /** Resumes a create, or gives it up when its key may have expired at YooKassa, or re-reads. */
  async #sync(payment: Payment): Promise<{ outcome: NotificationOutcomeCode; view: PaymentView }> {
    if (payment.status === "CREATING") {
      if (this.o.clock.now().getTime() - payment.createdAt.getTime() > CREATE_ABANDON_AFTER_MS) {
        return this.#cancelUnanswered(payment.id, "create_unanswered");
      }
      return this.#resumeCreate(payment);
    }
    if (payment.providerPaymentId == null) return { outcome: "UNCHANGED", view: viewOf(payment) };
    let remote: ProviderPayment;
    try {
      remote = await this.#provider().getPayment(payment.providerPaymentId);
    } catch (error) {
      throw providerFailure(error, `reading payment ${payment.providerPaymentId}`);
    }
    return this.#applyOrThrow(payment.id, remote);
  }

  /** POST /payments with the stored key and request; applies the answer. */
  async #resumeCreate(payment: Payment): Promise<{ outcome: NotificationOutcomeCode; view: PaymentView }> {
    let remote: ProviderPayment;
    try {
      remote = await this.#provider().createPayment(
        paymentRequestOf(storedPaymentRequest(payment.createRequest)),
        payment.idempotenceKey,
      );
    } catch (error) {
      const failure = providerFailure(error, "the payment");
      const facts = { payment_id: payment.id, ...failure.detail.metadata };
      if (isYooKassaError(error) && isDefinitiveRefusal(error)) {
        this.o.log.error(facts, "YooKassa refused to create a payment; billing cancels it");
        await this.#cancelUnanswered(payment.id, `provider_rejected:${error.code ?? error.kind}`);
      } else {
        this.o.log.warn(
          facts,
          "YooKassa's answer to a payment create is unknown; resumed later with the same key",
        );
      }
      throw failure;
    }
    return this.#applyOrThrow(payment.id, remote);
  }

  async #syncProviderPayment(providerPaymentId: string): Promise<SyncResult> {
    const provider = this.#provider();
    const reader = this.o.db.reader();
    let local = await reader.findOne(Payment, { providerPaymentId });
    let remote: ProviderPayment;
    try {
      remote = await provider.getPayment(providerPaymentId);
    } catch (error) {
      if (local === null && isYooKassaError(error) && error.kind === "not_found")
        return { outcome: "IGNORED", payment: undefined };
      throw providerFailure(error, `reading payment ${providerPaymentId}`);
    }
    if (local === null) {
      // Ours, but the answer to our create was lost (billing stopped before storing it)?
      const claimed = remote.metadata["billing_payment_id"] ?? "";
      local = UUID.test(claimed)
        ? await reader.findOne(Payment, { id: claimed, providerPaymentId: null })
        : null;
      if (local === null) {
        this.o.log.info(
          { provider_payment_id: providerPaymentId },
          "notification about a payment billing did not create; ignored",
        );
        return { outcome: "IGNORED", payment: undefined };
      }
    }
    const { outcome, view } = await this.#applyOrThrow(local.id, remote);
    return { outcome, payment: view };
  }

  async #applyOrThrow(
    paymentId: string,
    remote: ProviderPayment,
  ): Promise<{ outcome: NotificationOutcomeCode; view: PaymentView }> {
    const applied = await this.#apply(paymentId, remote);
    if (applied.kind === "mismatch") {
      this.o.log.error(
        { payment_id: paymentId, provider_payment_id: remote.id, problems: applied.problems },
        "PAYMENT MISMATCH: YooKassa's payment disagrees with billing's; nothing credited, operators must look",
      );
      throw new DomainError(
        "PAYMENT_MISMATCH",
        `payment ${paymentId} disagrees with YooKassa's ${remote.id}: ${applied.problems.join("; ")}`,
        { metadata: { payment_id: paymentId, provider_payment_id: remote.id } },
      );
    }
    return { outcome: applied.outcome, view: applied.view };
  }

  /** Applies YooKassa's payment to billing's row, under the row's lock, in one transaction. */
  async #apply(paymentId: string, remote: ProviderPayment): Promise<Applied<PaymentView>> {
    return this.o.db.transaction(async (tx): Promise<Applied<PaymentView>> => {
      const payment = await tx.findOne(Payment, { id: paymentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (payment === null) throw paymentNotFound(paymentId);
      const now = this.o.clock.now();
      const problems = mismatchesOf(payment, remote, { allowTestPayments: this.o.config.allowTestPayments });
      if (problems.length > 0) {
        if (payment.status === "CREATING") {
          // Our own create answered with something billing refuses (e.g. a test object on a live
          // shop): the payment is never offered to the user.
          payment.providerPaymentId = remote.id;
          payment.test = remote.test;
          this.#settleCanceled(tx, payment, BILLING_PARTY, "payment_mismatch", now);
        }
        return { kind: "mismatch", problems };
      }
      const target = statusOf(remote.status);
      const move = transitionOf(payment.status, target);
      if (payment.providerPaymentId == null) payment.providerPaymentId = remote.id;
      payment.test = remote.test;
      if (move === "conflict") {
        this.o.log.error(
          { payment_id: payment.id, stored: payment.status, provider: target },
          "YooKassa reports a settled payment settled the other way; billing keeps its state",
        );
      }
      if (move !== "advance") return { kind: "applied", outcome: "UNCHANGED", view: viewOf(payment) };
      payment.status = target;
      payment.updatedAt = now;
      switch (target) {
        case "PENDING":
        case "WAITING_FOR_CAPTURE":
          payment.confirmationUrl = remote.confirmation?.confirmationUrl ?? payment.confirmationUrl;
          if (target === "WAITING_FOR_CAPTURE")
            this.o.log.warn(
              { payment_id: payment.id },
              "a top-up created with capture=true waits for capture",
            );
          break;
        case "SUCCEEDED":
          await this.#credit(tx, payment, now);
          break;
        case "CANCELED":
          this.#settleCanceled(
            tx,
            payment,
            remote.cancellationDetails?.party ?? "",
            remote.cancellationDetails?.reason ?? "unknown",
            now,
          );
          break;
        case "CREATING":
          throw new Error("payments invariant: YooKassa has no CREATING status");
      }
      return { kind: "applied", outcome: "APPLIED", view: viewOf(payment) };
    });
  }

  /** The payment succeeded: credits (or the plan) and the status commit together, once. */
  async #credit(tx: EntityManager, payment: Payment, now: Date): Promise<void> {
    // Mark it credited first: the ledger and the plan activation may flush the payment row, and the
    // database accepts a SUCCEEDED payment only together with its credited_at.
    payment.creditedAt = now;
    payment.nextSyncAt = null;
    let creditsAvailable: bigint;
    if (payment.purpose === "CREDITS") {
      const credited = await this.o.ledger.creditTopUp(unitOfWork(tx), {
        userRef: payment.userRef,
        credits: payment.credits,
        paymentId: payment.id,
      });
      payment.creditTransferId = credited.transferId;
      creditsAvailable = credited.balance.creditsAvailable;
    } else {
      await this.o.plans.activate(unitOfWork(tx), {
        userRef: payment.userRef,
        planCode: payment.planCode ?? "",
        paymentId: payment.id,
        now,
      });
      ({ creditsAvailable } = await this.o.ledger.balanceIn(unitOfWork(tx), payment.userRef));
    }
    recordEvent(
      tx,
      {
        kind: "paymentSucceeded",
        userRef: payment.userRef,
        paymentId: payment.id,
        providerPaymentId: payment.providerPaymentId ?? "",
        amountMinor: payment.amountMinor,
        currency: payment.currency,
        credits: payment.credits,
        planCode: payment.planCode ?? "",
        creditsAvailable,
      },
      now,
    );
    this.o.log.info(
      { payment_id: payment.id, purpose: payment.purpose, credits: payment.credits.toString() },
      "payment succeeded and credited",
    );
  }

  #settleCanceled(tx: EntityManager, payment: Payment, party: string, reason: string, now: Date): void {
    payment.status = "CANCELED";
    payment.cancellationParty = party;
    payment.cancellationReason = reason;
    payment.nextSyncAt = null;
    payment.updatedAt = now;
    recordEvent(
      tx,
      {
        kind: "paymentCanceled",
        userRef: payment.userRef,
        paymentId: payment.id,
        providerPaymentId: payment.providerPaymentId ?? "",
        amountMinor: payment.amountMinor,
        currency: payment.currency,
        cancellationParty: party,
        cancellationReason: reason,
      },
      now,
    );
  }

  /** Billing gives up a create itself (refused by YooKassa, or unanswered for too long). */
  async #cancelUnanswered(
    paymentId: string,
    reason: string,
  ): Promise<{ outcome: NotificationOutcomeCode; view: PaymentView }> {
    return this.o.db.transaction(async (tx) => {
      const payment = await tx.findOne(Payment, { id: paymentId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (payment === null) throw paymentNotFound(paymentId);
      if (payment.status !== "CREATING") return { outcome: "UNCHANGED" as const, view: viewOf(payment) };
      this.#settleCanceled(tx, payment, BILLING_PARTY, reason, this.o.clock.now());
      return { outcome: "APPLIED" as const, view: viewOf(payment) };
    });
  }

  // ---- refunds ----

  async #loadRefund(em: EntityManager, refundId: string): Promise<PaymentRefund> {
    const refund = await em.findOne(PaymentRefund, { id: refundId });
    if (refund === null) throw new Error(`payments invariant: refund ${refundId} vanished`);
    return refund;
  }

  async #syncRefund(refund: PaymentRefund): Promise<void> {
    if (refund.status === "CREATING") {
      if (this.o.clock.now().getTime() - refund.createdAt.getTime() > CREATE_ABANDON_AFTER_MS) {
        await this.#cancelRefundLocally(refund.id, "create_unanswered");
        return;
      }
      await this.#resumeRefund(refund);
      return;
    }
    if (refund.providerRefundId == null) return;
    let remote: ProviderRefund;
    try {
      remote = await this.#provider().getRefund(refund.providerRefundId);
    } catch (error) {
      throw providerFailure(error, `reading refund ${refund.providerRefundId}`);
    }
    await this.#applyRefundOrThrow(refund.id, remote);
  }

  async #resumeRefund(refund: PaymentRefund): Promise<{ refund: RefundView; payment: PaymentView }> {
    let remote: ProviderRefund;
    try {
      remote = await this.#provider().createRefund(
        refundRequestOf(storedRefundRequest(refund.createRequest)),
        refund.idempotenceKey,
      );
    } catch (error) {
      const failure = providerFailure(error, "the refund");
      const facts = { refund_id: refund.id, payment_id: refund.paymentId, ...failure.detail.metadata };
      if (isYooKassaError(error) && isDefinitiveRefusal(error)) {
        this.o.log.error(facts, "YooKassa refused a refund; billing cancels it");
        await this.#cancelRefundLocally(refund.id, `provider_rejected:${error.code ?? error.kind}`);
      } else {
        this.o.log.warn(facts, "YooKassa's answer to a refund is unknown; resumed later with the same key");
      }
      throw failure;
    }
    const applied = await this.#applyRefundOrThrow(refund.id, remote);
    return { refund: applied.refund, payment: applied.payment };
  }

  async #syncProviderRefund(providerRefundId: string): Promise<SyncResult> {
    const provider = this.#provider();
    const reader = this.o.db.reader();
    let local = await reader.findOne(PaymentRefund, { providerRefundId });
    let remote: ProviderRefund;
    try {
      remote = await provider.getRefund(providerRefundId);
    } catch (error) {
      if (local === null && isYooKassaError(error) && error.kind === "not_found")
        return { outcome: "IGNORED", payment: undefined };
      throw providerFailure(error, `reading refund ${providerRefundId}`);
    }
    if (local === null) {
      const claimed = remote.metadata?.["billing_refund_id"] ?? "";
      local = UUID.test(claimed)
        ? await reader.findOne(PaymentRefund, { id: claimed, providerRefundId: null })
        : null;
      if (local === null) {
        this.o.log.info(
          { provider_refund_id: providerRefundId },
          "notification about a refund billing did not make; ignored",
        );
        return { outcome: "IGNORED", payment: undefined };
      }
    }
    const applied = await this.#applyRefundOrThrow(local.id, remote);
    return { outcome: applied.outcome, payment: applied.payment };
  }

  async #applyRefundOrThrow(
    refundId: string,
    remote: ProviderRefund,
  ): Promise<{ outcome: NotificationOutcomeCode; refund: RefundView; payment: PaymentView }> {
    const applied = await this.#applyRefund(refundId, remote);
    if (applied.kind === "mismatch") {
      this.o.log.error(
        { refund_id: refundId, provider_refund_id: remote.id, problems: applied.problems },
        "REFUND MISMATCH: YooKassa's refund disagrees with billing's; nothing taken back, operators must look",
      );
      throw new DomainError(
        "PAYMENT_MISMATCH",
        `refund ${refundId} disagrees with YooKassa's ${remote.id}: ${applied.problems.join("; ")}`,
        { metadata: { refund_id: refundId, provider_refund_id: remote.id } },
      );
    }
    return { outcome: applied.outcome, ...applied.view };
  }

  /** Applies YooKassa's refund; on success takes the credits back in the same transaction. */
  async #applyRefund(
    refundId: string,
    remote: ProviderRefund,
  ): Promise<Applied<{ refund: RefundView; payment: PaymentView }>> {
    return this.o.db.transaction(
      async (tx): Promise<Applied<{ refund: RefundView; payment: PaymentView }>> => {
        // Locks in the one order used everywhere: the payment, then its refund, then accounts.
        const { paymentId } = await this.#loadRefund(tx, refundId);
        const payment = await tx.findOne(
          Payment,
          { id: paymentId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        const refund = await tx.findOne(
          PaymentRefund,
          { id: refundId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (payment === null || refund === null)
          throw new Error(`payments invariant: refund ${refundId} vanished`);
        const now = this.o.clock.now();
        const problems: string[] = [];
        if (refund.providerRefundId != null && refund.providerRefundId !== remote.id)
          problems.push(`provider id ${remote.id} is not the stored ${refund.providerRefundId}`);
        if (remote.paymentId !== payment.providerPaymentId)
          problems.push(`refunds payment ${remote.paymentId}, not ${payment.providerPaymentId ?? "?"}`);
        if (remote.amount.amountMinor !== refund.amountMinor || remote.amount.currency !== refund.currency)
          problems.push(
            `amount ${remote.amount.amountMinor} ${remote.amount.currency} differs from ${refund.amountMinor} ${refund.currency}`,
          );
        if (problems.length > 0) return { kind: "mismatch", problems };
        if (refund.providerRefundId == null) refund.providerRefundId = remote.id;
        const move = refundTransitionOf(refund.status, remote.status);
        if (move === "conflict")
          this.o.log.error(
            { refund_id: refund.id, stored: refund.status, provider: remote.status },
            "YooKassa reports a settled refund settled the other way",
          );
        if (move !== "advance") {
          return {
            kind: "applied",
            outcome: "UNCHANGED",
            view: { refund: refundViewOf(refund), payment: viewOf(payment) },
          };
        }
        refund.updatedAt = now;
        switch (remote.status) {
          case "pending":
            refund.status = "PENDING";
            break;
          case "succeeded": {
            // The money is back with the payer: take back what the user still has (with no force, the
            // request was refused up front if they had less; they may have spent some since).
            const taken = await this.o.ledger.takeBackTopUp(unitOfWork(tx), {
              userRef: payment.userRef,
              credits: refund.creditsToReverse,
              paymentId: payment.id,
              reference: refund.id,
              atMostAvailable: true,
            });
            if (taken.takenCredits < refund.creditsToReverse) {
              this.o.log.warn(
                {
                  refund_id: refund.id,
                  wanted: refund.creditsToReverse.toString(),
                  taken: taken.takenCredits.toString(),
                },
                "refund succeeded; the user had already spent part of the credits",
              );
            }
            refund.status = "SUCCEEDED";
            refund.creditsReversed = taken.takenCredits;
            refund.reverseTransferId = taken.transferId === "" ? null : taken.transferId;
            refund.succeededAt = now;
            refund.nextSyncAt = null;
            payment.refundedAmountMinor += refund.amountMinor;
            payment.updatedAt = now;
            recordEvent(
              tx,
              {
                kind: "refundSucceeded",
                userRef: payment.userRef,
                refundId: refund.id,
                paymentId: payment.id,
                amountMinor: refund.amountMinor,
                creditsReversed: taken.takenCredits,
              },
              now,
            );
            break;
          }
          case "canceled":
            refund.status = "CANCELED";
            refund.cancellationParty = remote.cancellationDetails?.party ?? "";
            refund.cancellationReason = remote.cancellationDetails?.reason ?? "unknown";
            refund.nextSyncAt = null;
            break;
        }
        return {
          kind: "applied",
          outcome: "APPLIED",
          view: { refund: refundViewOf(refund), payment: viewOf(payment) },
        };
      },
    );
  }

  async #cancelRefundLocally(refundId: string, reason: string): Promise<void> {
    await this.o.db.transaction(async (tx) => {
      const refund = await tx.findOne(
        PaymentRefund,
        { id: refundId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (refund === null || refund.status !== "CREATING") return;
      refund.status = "CANCELED";
      refund.cancellationParty = BILLING_PARTY;
      refund.cancellationReason = reason;
      refund.nextSyncAt = null;
      refund.updatedAt = this.o.clock.now();
    });
  }
}

function askedFor(purchase: Purchase): Record<string, string | bigint> {
  switch (purchase.kind) {
    case "package":
      return { packageCode: purchase.packageCode };
    case "amount":
      return { amountMinor: purchase.amountMinor };
    case "plan":
      return { planCode: purchase.planCode };
  }
}

/** A replay of a create that YooKassa refused answers the same refusal, not the canceled row. */
function throwIfRefusedByBilling(row: {
  status: string;
  cancellationParty?: string | null | undefined;
  cancellationReason?: string | null | undefined;
}): void {
  if (row.status !== "CANCELED" || row.cancellationParty !== BILLING_PARTY) return;
  const reason = row.cancellationReason ?? "";
  if (reason.startsWith("provider_rejected:")) {
    const code = reason.slice("provider_rejected:".length);
    throw new DomainError("PROVIDER_REJECTED", `YooKassa refused this request earlier: ${code}`, {
      metadata: { provider: "yookassa", provider_code: code },
    });
  }
  if (reason === "payment_mismatch") {
    throw new DomainError(
      "PAYMENT_MISMATCH",
      "YooKassa's answer disagreed with the request; nothing was charged",
    );
  }
}

export function viewOf(payment: Payment): PaymentView {
  return {
    paymentId: payment.id,
    providerPaymentId: payment.providerPaymentId ?? "",
    userRef: payment.userRef,
    status: payment.status,
    purpose: payment.purpose,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    credits: payment.credits,
    planCode: payment.planCode ?? "",
    packageCode: payment.packageCode ?? "",
    // Only a payment still waiting for the payer has somewhere to send them.
    confirmationUrl: payment.status === "PENDING" ? (payment.confirmationUrl ?? "") : "",
    cancellationParty: payment.cancellationParty ?? "",
    cancellationReason: payment.cancellationReason ?? "",
    refundedAmountMinor: payment.refundedAmountMinor,
    test: payment.test ?? false,
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt,
    creditedAt: payment.creditedAt ?? undefined,
  };
}

function refundViewOf(refund: PaymentRefund): RefundView {
  return {
    refundId: refund.id,
    providerRefundId: refund.providerRefundId ?? "",
    paymentId: refund.paymentId,
    status: refund.status,
    amountMinor: refund.amountMinor,
    creditsReversed: refund.creditsReversed ?? 0n,
    reason: refund.reason,
    createdAt: refund.createdAt,
  };
}

function paymentNotFound(paymentId: string): DomainError {
  return new DomainError("PAYMENT_NOT_FOUND", `no payment ${paymentId}`, {
    metadata: { payment_id: paymentId },
  });
}

function paymentState(payment: Payment, message: string): DomainError {
  return new DomainError("PAYMENT_STATE", message, {
    metadata: { payment_id: payment.id, status: payment.status },
  });
}

function encodePageToken(seq: bigint): string {
  return Buffer.from(`pseq:${seq}`).toString("base64url");
}

function decodePageToken(token: string): bigint {
  if (token === "") return 2n ** 63n - 1n;
  const match = /^pseq:(\d{1,19})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (match?.[1] === undefined) {
    throw invalidFields([
      { field: "page_token", description: "malformed; pass next_page_token from a previous response" },
    ]);
  }
  return BigInt(match[1]);
}
