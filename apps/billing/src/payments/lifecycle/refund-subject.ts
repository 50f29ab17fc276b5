// A refund in the one lifecycle: what the provider's answer does to billing's row. A success takes
// the credits back with the status change and its event, once. A YooKassa refund whose create answer
// never came is found among its payment's refunds, by the billing_refund_id billing sent with it. A
// Stars refund is refundStarPayment: it settles at once, and repeating it is how it is looked up
// (Telegram answers CHARGE_ALREADY_REFUNDED to a repeat, which is the same success).
import { paymentRefundEffect } from "../effects.js";
import type { Refund as ProviderRefund } from "@billing/yookassa";
import { DomainError } from "../../domain/errors.js";
import { providerOf, type PaymentsContext } from "../context.js";
import { isStarsCallError } from "../stars/telegram-refunds.js";
import { refundRequestOf, type StoredRefundRequest, storedRefundRequest } from "../requests.js";
import { BILLING_PARTY, refundMismatchesOf, starsRefundsDisabled, statusOf, transitionOf } from "../rules.js";
import type { PaymentRow, PaymentsTx, RefundRow } from "../store/store.js";
import { refundViewOf, viewOf } from "../store/views.js";
import type { PaymentView, RefundView } from "../types.js";
import type { Applied, Settled, Subject } from "./subject.js";

export interface RefundAndPayment {
  readonly refund: RefundView;
  readonly payment: PaymentView;
}

/** Pages of GET /refunds read to find one refund: 10 × 100, far more refunds than any payment has. */
const LOOK_UP_PAGES_MAX = 10;
const LOOK_UP_PAGE_SIZE = 100;

export function refundSubject(
  context: PaymentsContext,
): Subject<RefundRow, ProviderRefund, RefundAndPayment> {
  const { store, clock } = context;
  const both = (refund: RefundRow, payment: PaymentRow): RefundAndPayment => ({
    refund: refundViewOf(refund),
    payment: viewOf(payment),
  });
  return {
    kind: "refund",
    load: (id) => store.refund(id),
    viewOf: async (row) => both(row, await store.payment(row.paymentId)),
    providerIdOf: (row) => row.providerRefundId,
    create: (row) => {
      const request = storedRefundRequest(row.createRequest);
      if (request.provider === "TELEGRAM_STARS") return refundStars(context, row, request);
      return providerOf(context).createRefund(refundRequestOf(request), row.idempotenceKey);
    },
    // YooKassa only: a Stars refund is settled by its create and never re-read.
    read: (providerId) => providerOf(context).getRefund(providerId),
    lookUp: (row) => {
      const request = storedRefundRequest(row.createRequest);
      // Asking Telegram is repeating the refund: refused again means it made nothing.
      if (request.provider === "TELEGRAM_STARS")
        return refundStars(context, row, request).catch((error: unknown) => {
          if (isStarsCallError(error) && error.kind === "rejected") return undefined;
          throw error;
        });
      return findRefund(context, row);
    },
    apply: (id, remote) => store.transaction((tx) => applyRefund(context, tx, id, remote)),
    giveUp: (id, reason) =>
      store.transaction(async (tx): Promise<Settled<RefundAndPayment>> => {
        const { payment, refund } = await tx.lockRefund(id);
        if (refund.status !== "CREATING") return { outcome: "UNCHANGED", view: both(refund, payment) };
        refund.status = "CANCELED";
        refund.cancellationParty = BILLING_PARTY;
        refund.cancellationReason = reason;
        refund.nextSyncAt = null;
        refund.updatedAt = clock.now();
        return { outcome: "APPLIED", view: both(refund, payment) };
      }),
    byProviderId: (providerId) => store.refundByProviderId(providerId),
    unlinked: (claimedId) => store.unlinkedRefund(claimedId),
    claimedIdOf: (remote) => remote.metadata?.["billing_refund_id"] ?? "",
  };
}

/**
 * refundStarPayment, answered as the provider's refund object the lifecycle applies: succeeded, for
 * the whole charge. Its id is derived from the charge (a charge is refunded once, in full) and has a
 * ':' that no YooKassa id has, so a YooKassa notification can never name it.
 */
async function refundStars(
  context: PaymentsContext,
  row: RefundRow,
  request: StoredRefundRequest,
): Promise<ProviderRefund> {
  if (context.stars === undefined) throw starsRefundsDisabled();
  if (request.payerTelegramId === undefined)
    throw new Error(`payments invariant: Stars refund ${row.id} without its payer`);
  await context.stars.refundStarPayment(request.payerTelegramId, request.providerPaymentId);
  return {
    id: `stars:${request.providerPaymentId}`,
    paymentId: request.providerPaymentId,
    status: "succeeded",
    amount: { amountMinor: BigInt(request.amountMinor), currency: request.currency },
    createdAt: context.clock.now().toISOString(),
    metadata: request.metadata,
  };
}

/** GET /refunds?payment_id=…, page by page, for the refund carrying this row's billing_refund_id. */
async function findRefund(context: PaymentsContext, row: RefundRow): Promise<ProviderRefund | undefined> {
  const paymentId = storedRefundRequest(row.createRequest).providerPaymentId;
  let cursor: string | undefined;
  for (let page = 0; page < LOOK_UP_PAGES_MAX; page += 1) {
    const list = await providerOf(context).listRefunds({
      paymentId,
      limit: LOOK_UP_PAGE_SIZE,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const found = list.items.find((item) => item.metadata?.["billing_refund_id"] === row.id);
    if (found !== undefined) return found;
    if (list.nextCursor === undefined) return undefined;
    cursor = list.nextCursor;
  }
  // Not seen, but not every refund was read either: nothing may be concluded.
  throw new DomainError(
    "PROVIDER_UNAVAILABLE",
    `refund ${row.id} not among the first ${LOOK_UP_PAGES_MAX * LOOK_UP_PAGE_SIZE} refunds of its payment`,
    { metadata: { provider: "yookassa", provider_code: "too_many_refunds" } },
  );
}

/** Applies YooKassa's refund to billing's row, under the payment's and the refund's locks. */
async function applyRefund(
  context: PaymentsContext,
  tx: PaymentsTx,
  refundId: string,
  remote: ProviderRefund,
): Promise<Applied<RefundAndPayment>> {
  const { payment, refund } = await tx.lockRefund(refundId);
  const problems = refundMismatchesOf({ ...refund, providerPaymentId: payment.providerPaymentId }, remote);
  if (problems.length > 0) return { kind: "mismatch", problems };
  if (refund.providerRefundId == null) refund.providerRefundId = remote.id;
  const target = statusOf(remote.status);
  const move = transitionOf(refund.status, target, {
    canceledByBilling: refund.cancellationParty === BILLING_PARTY,
  });
  if (move === "conflict")
    context.log.error(
      { refund_id: refund.id, stored: refund.status, provider: remote.status },
      "YooKassa reports a settled refund settled the other way",
    );
  const view = (): RefundAndPayment => ({ refund: refundViewOf(refund), payment: viewOf(payment) });
  if (move !== "advance") return { kind: "applied", outcome: "UNCHANGED", view: view() };
  const now = context.clock.now();
  refund.updatedAt = now;
  switch (remote.status) {
    case "pending":
      refund.status = "PENDING";
      break;
    case "succeeded":
      await takeBack(context, tx, payment, refund, now);
      break;
    case "canceled":
      refund.status = "CANCELED";
      refund.cancellationParty = remote.cancellationDetails?.party ?? "";
      refund.cancellationReason = remote.cancellationDetails?.reason ?? "unknown";
      refund.nextSyncAt = null;
      break;
  }
  return { kind: "applied", outcome: "APPLIED", view: view() };
}

/**
 * The money is back with the payer: take back what the user still has (with no force, the request
 * was refused up front if they had less; they may have spent some since).
 */
async function takeBack(
  context: PaymentsContext,
  tx: PaymentsTx,
  payment: PaymentRow,
  refund: RefundRow,
  now: Date,
): Promise<void> {
  const taken = await context.ledger.takeBackTopUp(tx.uow, {
    userRef: payment.userRef,
    credits: refund.creditsToReverse,
    paymentId: payment.id,
    reference: refund.id,
    atMostAvailable: true,
  });
  if (taken.takenCredits < refund.creditsToReverse) {
    context.log.warn(
      {
        refund_id: refund.id,
        wanted: refund.creditsToReverse.toString(),
        taken: taken.takenCredits.toString(),
      },
      "refund succeeded; the user had already spent part of the credits",
    );
  }
  refund.status = "SUCCEEDED";
  // A cancellation billing guessed gives way to YooKassa's success.
  refund.cancellationParty = null;
  refund.cancellationReason = null;
  refund.creditsReversed = taken.takenCredits;
  refund.reverseTransferId = taken.transferId === "" ? null : taken.transferId;
  refund.succeededAt = now;
  refund.nextSyncAt = null;
  payment.refundedAmountMinor += refund.amountMinor;
  payment.updatedAt = now;
  tx.observe(paymentRefundEffect(payment, refund));
  tx.record(
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
}
