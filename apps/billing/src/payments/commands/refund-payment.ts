// RefundPayment through the command pipeline: under the payment's lock, the refund is checked
// against what is left to refund and (without force) against the user's credits, then stored
// (CREATING, with its own Idempotence-Key and exact request) under the caller's key. The provider
// (YooKassa, or Telegram for a Stars payment) is called afterwards, outside any transaction.
import { randomUUID } from "node:crypto";
import { callerKey, runCommand } from "../../commands/index.js";
import { nextSyncAt, type PaymentsContext } from "../context.js";
import { type StoredRefundRequest, storedPaymentRequest } from "../requests.js";
import { assertCreditsStillThere, idempotenceKeyFor, refundOf, telegramPayerOf } from "../rules.js";
import type { NewRefundRow, PaymentRow, PaymentsTx } from "../store/store.js";
import type { RefundPaymentCommand } from "../types.js";

/** Stores the refund under the caller's key (or finds the one stored before); returns its id. */
export async function storeRefund(context: PaymentsContext, command: RefundPaymentCommand): Promise<string> {
  const spec = { name: "RefundPayment", key: callerKey(command.idempotencyKey), request: command };
  const { refundId } = await context.store.transaction(async (tx) => {
    const payment = await tx.lockPayment(command.paymentId);
    const now = context.clock.now();
    return runCommand(tx.answerBook(now), spec, async () => {
      const row = await refundRowOf(context, tx, payment, command, now);
      tx.insertRefund(row);
      return { refundId: row.id };
    });
  });
  return refundId;
}

async function refundRowOf(
  context: PaymentsContext,
  tx: PaymentsTx,
  payment: PaymentRow,
  command: RefundPaymentCommand,
  now: Date,
): Promise<NewRefundRow> {
  const others = await tx.openOrSucceededRefunds(payment.id);
  const allocatedMinor = others.reduce((sum, refund) => sum + refund.amountMinor, 0n);
  const { amountMinor, credits, providerPaymentId } = refundOf(payment, allocatedMinor, command.amountMinor);
  if (!command.force) {
    // Promo credits are not the payment's: only purchased ones can be taken back.
    assertCreditsStillThere(await context.ledger.purchasedCreditsIn(tx.uow, payment.userRef), credits);
  }
  const id = randomUUID();
  const request: StoredRefundRequest = {
    ...providerPartOf(payment),
    providerPaymentId,
    amountMinor: amountMinor.toString(),
    currency: payment.currency,
    description: command.reason,
    metadata: { billing_refund_id: id, billing_payment_id: payment.id },
  };
  return {
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
    nextSyncAt: nextSyncAt(context, now),
  };
}

/** YooKassa: the refund receipt (same customer as the payment's). Stars: whom Telegram refunds. */
function providerPartOf(payment: PaymentRow): Partial<StoredRefundRequest> {
  if (payment.provider === "TELEGRAM_STARS") {
    const payer = telegramPayerOf(payment.userRef);
    if (payer === undefined)
      throw new Error(`payments invariant: Stars payment ${payment.id} of a non-Telegram user`);
    return { provider: "TELEGRAM_STARS", payerTelegramId: payer };
  }
  const paid = storedPaymentRequest(payment.createRequest);
  return paid.receipt === undefined ? {} : { receipt: paid.receipt };
}
