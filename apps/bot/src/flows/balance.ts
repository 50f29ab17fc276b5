// /balance and the 💰 menu: the balance, free operations left, the last entries of the statement in
// words (a top-up paid with Telegram Stars named as such), and the top-up buttons (packages from
// billing's ListTopUpOptions, then "another amount" and "pay with Stars").
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { PaymentProvider } from "@billing/proto/billing/v1/payments_pb";
import { Asset, type Transaction, TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { type BotContext, say, type UserScope, userRef } from "../context.js";
import { formatWhen } from "../i18n/dates.js";
import type { StatementKind, StatementLine } from "../i18n/index.js";
import { isOperation } from "../operations.js";
import type { InlineKeyboard } from "../telegram/types.js";
import { menuRow, topUpKeyboard } from "./keyboards.js";

/** Entries shown; a page a little larger than that, since entries that moved nothing are skipped. */
const RECENT_ENTRIES = 5;
const PAGE_SIZE = 12;

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
  // OpenAccount rather than GetBalance: someone who never sent /start still gets an account here.
  const opened = await ctx.billing.wallet.openAccount({ userRef: ref });
  const [statement, stars] = await Promise.all([
    ctx.billing.wallet.listTransactions({ userRef: ref, pageSize: PAGE_SIZE }),
    starsPaymentIds(ctx, ref),
  ]);
  const balance = opened.balance;
  const lines = [t.balance.title(balance?.creditsAvailable ?? 0n)];
  if ((balance?.creditsReserved ?? 0n) > 0n) lines.push(t.balance.reserved(balance?.creditsReserved ?? 0n));
  lines.push(t.balance.freeLeft(balance?.freeOperationsAvailable ?? 0n), "");
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
