// /start, the menu and /help. /start opens the account (billing grants the starter free operations on
// the very first call only, however often /start is sent) and greets with what is left.
import type { GetPriceListResponse } from "@billing/proto/billing/v1/wallet_pb";
import { type BotContext, say, type UserScope, userRef } from "../context.js";
import type { Catalogue } from "../i18n/index.js";
import { repeatable } from "../idempotent.js";
import { isOperation, OPERATIONS } from "../operations.js";
import { mainMenu } from "./keyboards.js";

export async function start(ctx: BotContext, scope: UserScope): Promise<void> {
  const { t } = scope;
  const opened = await repeatable(() => ctx.billing.wallet.openAccount({ userRef: userRef(scope.userId) }));
  const prices = await ctx.prices.get();
  const credits = opened.balance?.creditsAvailable ?? 0n;
  const free = opened.balance?.freeOperationsAvailable ?? 0n;
  const lines = [
    opened.created ? t.start.welcome(scope.name) : t.start.welcomeBack(scope.name),
    "",
    t.start.freeLeft(free),
  ];
  if (!opened.created || credits > 0n) lines.push(t.start.balance(credits));
  lines.push(...priceLines(t, prices), "", t.start.choose);
  say(ctx, scope.chatId, lines.join("\n"), mainMenu(t, prices));
}

export async function showMenu(ctx: BotContext, scope: UserScope, text?: string): Promise<void> {
  const prices = await ctx.prices.get();
  say(ctx, scope.chatId, text ?? scope.t.menu, mainMenu(scope.t, prices));
}

export async function help(ctx: BotContext, scope: UserScope): Promise<void> {
  const prices = await ctx.prices.get();
  say(
    ctx,
    scope.chatId,
    [scope.t.help, "", ...priceLines(scope.t, prices)].join("\n"),
    mainMenu(scope.t, prices),
  );
}

/** The prices in words, from billing's list (never from constants here). */
export function priceLines(t: Catalogue, prices: GetPriceListResponse): string[] {
  const known = prices.prices.filter((p) => isOperation(p.operation));
  const ordered = OPERATIONS.flatMap((operation) => known.filter((p) => p.operation === operation));
  const paid = ordered.filter((p) => p.priceCredits > 0n);
  const free = ordered.filter((p) => p.priceCredits === 0n);
  const lines: string[] = [];
  const first = paid[0];
  if (first !== undefined && paid.every((p) => p.priceCredits === first.priceCredits)) {
    lines.push(t.start.uniformPrice(first.priceCredits));
  } else if (paid.length > 0) {
    lines.push(
      t.start.priceList(
        paid
          .map((p) =>
            t.start.priceItem(
              isOperation(p.operation) ? t.operation[p.operation] : p.operation,
              p.priceCredits,
            ),
          )
          .join(", "),
      ),
    );
  }
  if (free.length > 0) {
    lines.push(
      t.start.freeModes(
        free
          .map((p) => t.quote(isOperation(p.operation) ? t.operation[p.operation] : p.operation))
          .join(", "),
      ),
    );
  }
  return lines;
}
