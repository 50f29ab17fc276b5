// What the low-balance tests read back: the billing.balance.low rows of the outbox (decoded), the
// crossings a user's recorded history shows, and paid top-ups and payment refunds through the
// YooKassa fake.
import { fromBinary } from "@bufbuild/protobuf";
import { type BalanceLow, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { withPg } from "@billing/testkit";
import type { BillingWithFake } from "./payments-helpers.js";

/** The user's billing.balance.low events, in outbox order. */
export function lowBalanceEvents(databaseUrl: string, userRef: string): Promise<BalanceLow[]> {
  return withPg(databaseUrl, async (pg) => {
    const { rows } = await pg.query<{ payload: Buffer }>(
      `select payload from outbox_events where subject = 'billing.balance.low' order by id`,
    );
    return rows.flatMap((row) => {
      const event = fromBinary(BillingEventSchema, row.payload);
      return event.userRef === userRef && event.payload.case === "balanceLow" ? [event.payload.value] : [];
    });
  });
}

/**
 * The user's available credits after each of its transfers, in the order they were applied (the
 * account row is locked by each, so seq order is application order), starting from the 0 of a new
 * account.
 */
export function creditHistory(databaseUrl: string, userRef: string): Promise<bigint[]> {
  return withPg(databaseUrl, async (pg) => {
    const { rows } = await pg.query<{ after: string }>(
      `select (case when t.debit_account_id = a.id then t.debit_balance_after
                    else t.credit_balance_after end)::text as after
         from ledger_accounts a
         join ledger_transfers t on a.id in (t.debit_account_id, t.credit_account_id)
        where a.owner_ref = $1 and a.kind = 'USER' and a.asset = 'CREDITS'
        order by t.seq`,
      [userRef],
    );
    return [0n, ...rows.map((row) => BigInt(row.after))];
  });
}

/** The available-credit values right after each downward crossing of `threshold` in `history`. */
export function downwardCrossings(history: readonly bigint[], threshold: bigint): bigint[] {
  const crossings: bigint[] = [];
  for (let i = 1; i < history.length; i++) {
    const before = history[i - 1] ?? 0n;
    const after = history[i] ?? 0n;
    if (before >= threshold && after < threshold) crossings.push(after);
  }
  return crossings;
}

/**
 * A paid top-up, the way users pay: CreateTopUp, paid at the YooKassa fake, its notification handed
 * over; resolves once billing credited it. Returns the payment's id (for RefundPayment).
 */
export async function paidTopUp(env: BillingWithFake, userRef: string, key: string, credits: bigint) {
  const created = await env.billing.client("bot").payments.createTopUp({
    userRef,
    purchase: { case: "amountMinor", value: credits * 100n },
    idempotencyKey: key,
  });
  const payment = created.payment;
  if (payment === undefined) throw new Error("CreateTopUp answered no payment");
  env.fake.pay(payment.providerPaymentId);
  await env.billing
    .client("webhooks")
    .payments.handleNotification({ event: "payment.succeeded", objectId: payment.providerPaymentId });
  return payment.paymentId;
}

/** An operator's refund of `credits` of a payment through YooKassa: billing takes them back. */
export function refundPaid(env: BillingWithFake, paymentId: string, key: string, credits: bigint) {
  return env.billing.client("admin").payments.refundPayment({
    paymentId,
    amountMinor: credits * 100n,
    reason: "low-balance test",
    idempotencyKey: key,
  });
}
