// CreateTopUp through the command pipeline: one transaction stores the payment (CREATING, with its
// own Idempotence-Key, the exact request and, for a plan, the plan as bought) under the caller's
// key; YooKassa is then called outside any transaction. A replay answers the same payment. A Stars
// payment is stored PENDING with the invoice the bot sends: there is nobody to call.
import { paymentEffect } from "../effects.js";
import { randomUUID } from "node:crypto";
import { callerKey, runCommand } from "../../commands/index.js";
import { nextSyncAt, type PaymentsContext } from "../context.js";
import type { StoredPaymentRequest } from "../requests.js";
import {
  CURRENCY,
  idempotenceKeyFor,
  invoiceOf,
  renderDescription,
  STARS_CURRENCY,
  unknownPlan,
} from "../rules.js";
import type { NewPaymentRow } from "../store/store.js";
import type { CreateTopUpCommand, Purchase } from "../types.js";

/** What a payment buys, priced: credits, or a plan frozen as it is sold now. */
export interface Bought {
  readonly provider: "YOOKASSA" | "TELEGRAM_STARS";
  readonly purpose: "CREDITS" | "PLAN";
  readonly amountMinor: bigint;
  readonly credits: bigint;
  readonly packageCode: string | null;
  readonly plan: { code: string; title: string; periodMonths: number } | null;
}

export async function priceOf(context: PaymentsContext, purchase: Purchase): Promise<Bought> {
  switch (purchase.kind) {
    case "package":
      return { provider: "YOOKASSA", purpose: "CREDITS", ...purchase, plan: null };
    case "amount":
      return { provider: "YOOKASSA", purpose: "CREDITS", ...purchase, packageCode: null, plan: null };
    case "stars":
      return {
        provider: "TELEGRAM_STARS",
        purpose: "CREDITS",
        amountMinor: purchase.stars,
        credits: purchase.credits,
        packageCode: purchase.packageCode,
        plan: null,
      };
    case "plan": {
      const price = await context.plans.priceOf(purchase.planCode);
      if (price === undefined) throw unknownPlan(purchase.planCode);
      return {
        provider: "YOOKASSA",
        purpose: "PLAN",
        amountMinor: price.amountMinor,
        credits: 0n,
        packageCode: null,
        plan: { code: purchase.planCode, title: price.title, periodMonths: price.periodMonths },
      };
    }
  }
}

/** Stores the payment under the caller's key (or finds the one stored before); returns its id. */
export async function storeTopUp(
  context: PaymentsContext,
  command: CreateTopUpCommand,
  bought: Bought,
): Promise<string> {
  // What the caller asked for, not what the catalogue made of it: a changed price list must not
  // turn a replay into IDEMPOTENCY_KEY_REUSED.
  const spec = {
    name: "CreateTopUp",
    key: callerKey(command.idempotencyKey),
    request: { ...command, purchase: askedFor(command.purchase) },
  };
  const { paymentId } = await context.store.transaction((tx) => {
    const now = context.clock.now();
    return runCommand(tx.answerBook(now), spec, () => {
      const row = paymentRowOf(context, command, bought, randomUUID(), now);
      tx.observe(paymentEffect("payment_created", tx.insertPayment(row)));
      return { paymentId: row.id };
    });
  });
  return paymentId;
}

function paymentRowOf(
  context: PaymentsContext,
  command: CreateTopUpCommand,
  bought: Bought,
  id: string,
  now: Date,
): NewPaymentRow {
  const stars = bought.provider === "TELEGRAM_STARS";
  return {
    id,
    userRef: command.userRef,
    provider: bought.provider,
    purpose: bought.purpose,
    packageCode: bought.packageCode,
    planCode: bought.plan?.code ?? null,
    planTitle: bought.plan?.title ?? null,
    planPeriodMonths: bought.plan?.periodMonths ?? null,
    amountMinor: bought.amountMinor,
    currency: stars ? STARS_CURRENCY : CURRENCY,
    credits: bought.credits,
    status: stars ? "PENDING" : "CREATING",
    requestKey: command.idempotencyKey,
    idempotenceKey: idempotenceKeyFor("payment", id),
    createRequest: stars
      ? invoiceOf(context.config.stars, { id, amountMinor: bought.amountMinor, credits: bought.credits })
      : paymentRequestFor(context, command, bought, id),
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
    // A Stars payment needs nothing until its invoice expires; then the sweep cancels it.
    nextSyncAt: stars
      ? new Date(now.getTime() + context.config.stars.invoiceTtlMs)
      : nextSyncAt(context, now),
  };
}

/** The POST /payments body as stored, so every resume sends the very same request. */
function paymentRequestFor(
  context: PaymentsContext,
  command: CreateTopUpCommand,
  bought: Bought,
  id: string,
): StoredPaymentRequest {
  const { config } = context;
  const description = renderDescription(
    bought.purpose === "PLAN" ? config.planDescription : config.description,
    {
      amountMinor: bought.amountMinor,
      credits: bought.credits,
      planTitle: bought.plan?.title ?? "",
    },
  );
  const receipts = config.receipts;
  return {
    amountMinor: bought.amountMinor.toString(),
    currency: CURRENCY,
    returnUrl: command.returnUrl === "" ? (config.returnUrl ?? "") : command.returnUrl,
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
}

function askedFor(purchase: Purchase): Record<string, string | bigint> {
  switch (purchase.kind) {
    case "package":
      return { packageCode: purchase.packageCode };
    case "amount":
      return { amountMinor: purchase.amountMinor };
    case "plan":
      return { planCode: purchase.planCode };
    case "stars":
      return { starsPackageCode: purchase.packageCode };
  }
}
