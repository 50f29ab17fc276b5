// /balance and the 💰 menu: the balance (purchased vs promo credits, and the promo lots with their
// expiry, when there are any), free operations left, the last entries of the statement in words (a
// top-up paid with Telegram Stars named as such), and the top-up buttons (packages from billing's
// ListTopUpOptions, then "another amount" and "pay with Stars").
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { PaymentProvider } from "@billing/proto/billing/v1/payments_pb";
import {
  Asset,
  type GetBalanceResponse,
  type Transaction,
  TransactionKind,
} from "@billing/proto/billing/v1/wallet_pb";
import { type BotContext, say, type UserScope, userRef } from "../context.js";
import { formatDeadline, formatWhen } from "../i18n/dates.js";
import type { Catalogue, Locale, StatementKind, StatementLine } from "../i18n/index.js";
import { isOperation } from "../operations.js";
import type { InlineKeyboard } from "../telegram/types.js";
import { menuRow, topUpKeyboard } from "./keyboards.js";

/** Entries shown; a page a little larger than that, since entries that moved nothing are skipped. */
const RECENT_ENTRIES = 5;
const PAGE_SIZE = 12;
/** Promo lots listed one by one; the rest are counted in one line, so the screen stays short. */
const PROMO_LOTS_SHOWN = 5;

const KINDS: Readonly<Record<TransactionKind, StatementKind>> = {
  [TransactionKind.UNSPECIFIED]: "other",
  [TransactionKind.STARTER_GRANT]: "starter_grant",
  [TransactionKind.GRANT]: "grant",
  [TransactionKind.CHARGE]: "charge",
  [TransactionKind.HOLD]: "hold",
  [TransactionKind.HOLD_POSTED]: "hold_posted",
  [TransactionKind.HOLD_VOIDED]: "hold_voided",
  [TransactionKind.HOLD_EXPIRED]: "hold_expired",
  [TransactionKind.REFUND]: "refund",
  [TransactionKind.TOP_UP]: "top_up",
  [TransactionKind.PAYMENT_REFUND]: "payment_refund",
  [TransactionKind.CREDITS_EXPIRED]: "credits_expired",
};

export async function showBalance(ctx: BotContext, scope: UserScope): Promise<void> {
  const { t } = scope;
  const ref = userRef(scope.userId);
  // OpenAccount first: someone who never sent /start still gets an account here (GetBalance would say
  // ACCOUNT_NOT_FOUND). Then GetBalance, for what OpenAccount does not tell: the promo lots.
  const opened = await ctx.billing.wallet.openAccount({ userRef: ref });
  const [statement, stars, detailed] = await Promise.all([
    ctx.billing.wallet.listTransactions({ userRef: ref, pageSize: PAGE_SIZE }),
    starsPaymentIds(ctx, ref),
    detailedBalance(ctx, ref),
  ]);
  const balance = detailed ?? opened.balance;
  const lines = [t.balance.title(balance?.creditsAvailable ?? 0n)];
  const promo =
    detailed === undefined ? undefined : promoSection(t, scope.locale, ctx.config.timeZone, detailed);
  if (promo !== undefined) lines.push(promo.split);
  if ((balance?.creditsReserved ?? 0n) > 0n) lines.push(t.balance.reserved(balance?.creditsReserved ?? 0n));
  lines.push(t.balance.freeLeft(balance?.freeOperationsAvailable ?? 0n));
  if (promo !== undefined) lines.push(...promo.lots);
  lines.push("");
  const entries = statement.transactions.filter((entry) => entry.amount !== 0n).slice(0, RECENT_ENTRIES);
  if (entries.length === 0) lines.push(t.balance.none);
  else
    lines.push(
      t.balance.recent,
      ...entries.map((entry) => t.balance.line(statementLine(ctx, scope, entry, stars))),
    );

  let keyboard: InlineKeyboard = [menuRow(t)];
  try {
    const options = await ctx.topUpOptions.get();
    lines.push("", t.balance.topUpChoose);
    keyboard = topUpKeyboard(t, options);
  } catch (error) {
    ctx.log.warn({ error: describe(ctx, error) }, "top-up options unavailable");
    lines.push("", t.balance.paymentsUnavailable);
  }
  say(ctx, scope.chatId, lines.join("\n"), keyboard);
}

/**
 * The balance with its promo lots. Cosmetic, like the Stars names: without an answer the screen shows
 * OpenAccount's balance, without the promo part.
 */
async function detailedBalance(ctx: BotContext, ref: string): Promise<GetBalanceResponse | undefined> {
  try {
    return await ctx.billing.wallet.getBalance({ userRef: ref });
  } catch (error) {
    ctx.log.warn({ error: describe(ctx, error) }, "GetBalance failed; the balance screen omits promo lots");
    return undefined;
  }
}

/**
 * "Purchased · promo", then the lots with credits available in billing's spending order, at most
 * PROMO_LOTS_SHOWN of them and a line counting the rest. Undefined without promo credits. No I/O.
 */
export function promoSection(
  t: Catalogue,
  locale: Locale,
  timeZone: string,
  balance: GetBalanceResponse,
): { split: string; lots: string[] } | undefined {
  if (balance.creditsPromo <= 0n) return undefined;
  // A lot whose credits are all held by running jobs has none to spend: not listed.
  const available = balance.promoLots.filter((lot) => lot.creditsAvailable > 0n);
  const lots = [
    t.balance.promoLots,
    ...available.slice(0, PROMO_LOTS_SHOWN).map((lot) => {
      const until =
        lot.expiresAt === undefined ? "" : formatDeadline(timestampDate(lot.expiresAt), locale, timeZone);
      return t.balance.promoLot(lot.creditsAvailable, until);
    }),
  ];
  if (available.length > PROMO_LOTS_SHOWN)
    lots.push(t.balance.promoMore(available.length - PROMO_LOTS_SHOWN));
  return { split: t.balance.split(balance.creditsPurchased, balance.creditsPromo), lots };
}

/**
 * Ids of the user's recent Stars payments: a TOP_UP entry references its payment. Cosmetic: without
 * an answer the entries read as plain top-ups.
 */
async function starsPaymentIds(ctx: BotContext, ref: string): Promise<ReadonlySet<string>> {
  try {
    const page = await ctx.billing.payments.listPayments({ userRef: ref, pageSize: PAGE_SIZE });
    return new Set(
      page.payments.filter((p) => p.provider === PaymentProvider.TELEGRAM_STARS).map((p) => p.paymentId),
    );
  } catch {
    return new Set();
  }
}

function statementLine(
  ctx: BotContext,
  scope: UserScope,
  entry: Transaction,
  stars: ReadonlySet<string>,
): StatementLine {
  const when =
    entry.createdAt === undefined
      ? ""
      : formatWhen(timestampDate(entry.createdAt), scope.locale, ctx.config.timeZone);
  return {
    kind:
      entry.kind === TransactionKind.TOP_UP && stars.has(entry.reference)
        ? "top_up_stars"
        : KINDS[entry.kind],
    asset: entry.asset === Asset.FREE_OPERATIONS ? "free_operations" : "credits",
    amount: entry.amount,
    operation: isOperation(entry.operation) ? scope.t.operation[entry.operation] : entry.operation,
    when,
  };
}

function describe(ctx: BotContext, error: unknown): string {
  return ctx.redact(error instanceof Error ? error.message : String(error));
}
