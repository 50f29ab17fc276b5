// A payment in the one lifecycle: what YooKassa's answer does to billing's row. A success credits
// the top-up (or activates the plan as it was bought) with the status change and its event, once.
import { paymentEffect } from "../effects.js";
import type { Payment as ProviderPayment } from "@billing/yookassa";
import { providerOf, type PaymentsContext } from "../context.js";
import { paymentRequestOf, storedPaymentRequest } from "../requests.js";
import { BILLING_PARTY, mismatchesOf, statusOf, transitionOf } from "../rules.js";
import type { PaymentRow, PaymentsTx } from "../store/store.js";
import { viewOf } from "../store/views.js";
import type { PaymentView } from "../types.js";
import type { Applied, Settled, Subject } from "./subject.js";

export function paymentSubject(context: PaymentsContext): Subject<PaymentRow, ProviderPayment, PaymentView> {
  const { store, clock } = context;
  return {
    kind: "payment",
    load: (id) => store.payment(id),
    viewOf: (row) => Promise.resolve(viewOf(row)),
    providerIdOf: (row) => row.providerPaymentId,
    create: (row) =>
      providerOf(context).createPayment(
        paymentRequestOf(storedPaymentRequest(row.createRequest)),
        row.idempotenceKey,
      ),
    read: (providerId) => providerOf(context).getPayment(providerId),
    // Nobody can pay a payment whose confirmation URL was never handed out: nothing to look up.
    lookUp: () => Promise.resolve(undefined),
    apply: (id, remote) => store.transaction((tx) => applyPayment(context, tx, id, remote)),
    giveUp: (id, reason) =>
      store.transaction(async (tx): Promise<Settled<PaymentView>> => {
        const payment = await tx.lockPayment(id);
        if (payment.status !== "CREATING") return { outcome: "UNCHANGED", view: viewOf(payment) };
        settleCanceled(tx, payment, BILLING_PARTY, reason, clock.now());
        return { outcome: "APPLIED", view: viewOf(payment) };
      }),
    byProviderId: (providerId) => store.paymentByProviderId(providerId),
    unlinked: (claimedId) => store.unlinkedPayment(claimedId),
    claimedIdOf: (remote) => remote.metadata["billing_payment_id"] ?? "",
  };
}

/** Applies YooKassa's payment to billing's row, under the row's lock. */
async function applyPayment(
  context: PaymentsContext,
  tx: PaymentsTx,
  paymentId: string,
  remote: ProviderPayment,
): Promise<Applied<PaymentView>> {
  const payment = await tx.lockPayment(paymentId);
  const now = context.clock.now();
  const problems = mismatchesOf(payment, remote, { allowTestPayments: context.config.allowTestPayments });
  if (problems.length > 0) {
    if (payment.status === "CREATING") {
      // Our own create answered with something billing refuses (e.g. a test object on a live
      // shop): the payment is never offered to the user.
      payment.providerPaymentId = remote.id;
      payment.test = remote.test;
      settleCanceled(tx, payment, BILLING_PARTY, "payment_mismatch", now);
    }
    return { kind: "mismatch", problems };
  }
  const target = statusOf(remote.status);
  const move = transitionOf(payment.status, target, {
    canceledByBilling: payment.cancellationParty === BILLING_PARTY,
  });
  if (payment.providerPaymentId == null) payment.providerPaymentId = remote.id;
  payment.test = remote.test;
  if (move === "conflict") {
    context.log.error(
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
        context.log.warn({ payment_id: payment.id }, "a top-up created with capture=true waits for capture");
      break;
    case "SUCCEEDED":
      await credit(context, tx, payment, now);
      break;
    case "CANCELED": {
      const details = remote.cancellationDetails;
      settleCanceled(tx, payment, details?.party ?? "", details?.reason ?? "unknown", now);
      break;
    }
    case "CREATING":
      throw new Error("payments invariant: YooKassa has no CREATING status");
  }
  return { kind: "applied", outcome: "APPLIED", view: viewOf(payment) };
}

/**
 * The payment succeeded: credits (or the plan bought) and the status commit together, once. Shared
 * by both providers (stars-payment.ts for Telegram Stars).
 */
export async function credit(
  context: PaymentsContext,
  tx: PaymentsTx,
  payment: PaymentRow,
  now: Date,
): Promise<void> {
  // Mark it credited first: the ledger and the plan activation may flush the payment row, and the
  // database accepts a SUCCEEDED payment only together with its credited_at.
  payment.creditedAt = now;
  payment.nextSyncAt = null;
  // A cancellation billing guessed gives way to YooKassa's success.
  payment.cancellationParty = null;
  payment.cancellationReason = null;
  let creditsAvailable: bigint;
  if (payment.purpose === "CREDITS") {
    const credited = await context.ledger.creditTopUp(tx.uow, {
      userRef: payment.userRef,
      credits: payment.credits,
      paymentId: payment.id,
    });
    payment.creditTransferId = credited.transferId;
    creditsAvailable = credited.balance.creditsAvailable;
  } else {
    await context.plans.activate(tx.uow, {
      userRef: payment.userRef,
      plan: planBought(payment),
      paymentId: payment.id,
      now,
    });
    ({ creditsAvailable } = await context.ledger.balanceIn(tx.uow, payment.userRef));
  }
  tx.observe(paymentEffect("payment_succeeded", payment));
  tx.record(
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
  context.log.info(
    { payment_id: payment.id, purpose: payment.purpose, credits: payment.credits.toString() },
    "payment succeeded and credited",
  );
}

/** The plan as it was bought, frozen into the payment at creation. */
function planBought(payment: PaymentRow): {
  code: string;
  title: string;
  periodMonths: number;
  priceMinor: bigint;
} {
  if (payment.planCode == null || payment.planTitle == null || payment.planPeriodMonths == null)
    throw new Error(`payments invariant: plan payment ${payment.id} without its frozen plan`);
  return {
    code: payment.planCode,
    title: payment.planTitle,
    periodMonths: payment.planPeriodMonths,
    priceMinor: payment.amountMinor,
  };
}

export function settleCanceled(
  tx: PaymentsTx,
  payment: PaymentRow,
  party: string,
  reason: string,
  now: Date,
): void {
  payment.status = "CANCELED";
  payment.cancellationParty = party;
  payment.cancellationReason = reason;
  payment.nextSyncAt = null;
  payment.updatedAt = now;
  tx.observe(paymentEffect("payment_canceled", payment));
  tx.record(
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
