// Inline keyboards and their callback data. callback_data is at most 64 bytes: "mode:face_swap",
// "buy:rub_1000", "again:<job id>" all fit.
import type { ListTopUpOptionsResponse } from "@billing/proto/billing/v1/payments_pb";
import type { GetPriceListResponse } from "@billing/proto/billing/v1/wallet_pb";
import type { Catalogue } from "../i18n/index.js";
import { isOperation, MENU_ROWS, type Operation } from "../operations.js";
import type { InlineButton, InlineKeyboard } from "../telegram/types.js";

export type Callback =
  | { readonly kind: "menu" }
  | { readonly kind: "pay" }
  | { readonly kind: "mode"; readonly operation: Operation }
  | { readonly kind: "buy"; readonly packageCode: string }
  | { readonly kind: "custom" }
  | { readonly kind: "stars" }
  | { readonly kind: "again"; readonly jobId: string }
  | { readonly kind: "unknown" };

export const callbackData = {
  menu: "menu",
  pay: "pay",
  custom: "custom",
  stars: "stars",
  mode: (operation: Operation) => `mode:${operation}`,
  buy: (packageCode: string) => `buy:${packageCode}`,
  again: (jobId: string) => `again:${jobId}`,
} as const;

export function parseCallback(data: string): Callback {
  if (data === "menu") return { kind: "menu" };
  if (data === "pay") return { kind: "pay" };
  if (data === "custom") return { kind: "custom" };
  if (data === "stars") return { kind: "stars" };
  const [prefix, value] = splitOnce(data, ":");
  if (prefix === "mode" && value !== undefined && isOperation(value))
    return { kind: "mode", operation: value };
  if (prefix === "buy" && value !== undefined && /^[A-Za-z0-9_.-]{1,60}$/.test(value)) {
    return { kind: "buy", packageCode: value };
  }
  if (prefix === "again" && value !== undefined && /^[a-z0-9_]{1,56}$/.test(value))
    return { kind: "again", jobId: value };
  return { kind: "unknown" };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

/** The price of each operation billing knows. */
export function priceMap(prices: GetPriceListResponse): Map<string, bigint> {
  return new Map(prices.prices.map((p) => [p.operation, p.priceCredits]));
}

/** The main menu: the modes billing prices (free ones marked), then Pay / Balance. */
export function mainMenu(t: Catalogue, prices: GetPriceListResponse): InlineKeyboard {
  const priced = priceMap(prices);
  const rows: InlineButton[][] = [];
  for (const row of MENU_ROWS) {
    const buttons = row
      .filter((operation) => priced.has(operation))
      .map((operation) => ({
        text:
          priced.get(operation) === 0n
            ? `${t.button.mode[operation]} ${t.button.free}`
            : t.button.mode[operation],
        callbackData: callbackData.mode(operation),
      }));
    if (buttons.length > 0) rows.push(buttons);
  }
  rows.push([{ text: t.button.payBalance, callbackData: callbackData.pay }]);
  return rows;
}

export function menuRow(t: Catalogue): InlineButton[] {
  return [{ text: t.button.menu, callbackData: callbackData.menu }];
}

/**
 * Under news of promo credits: straight to 🎨 Create (chooseMode shows the menu instead should billing
 * stop pricing it), or the menu.
 */
export function usePromoKeyboard(t: Catalogue): InlineKeyboard {
  return [[{ text: t.button.mode.generate, callbackData: callbackData.mode("generate") }, ...menuRow(t)]];
}

export function topUpButton(t: Catalogue): InlineKeyboard {
  return [[{ text: t.button.topUp, callbackData: callbackData.pay }], menuRow(t)];
}

/** Packages two per row, "another amount", "pay with Stars" (when billing sells Stars), the menu. */
export function topUpKeyboard(t: Catalogue, options: ListTopUpOptionsResponse): InlineKeyboard {
  const rows: InlineButton[][] = [];
  const packages = options.packages.map((p) => ({
    text: t.button.package(p.amountMinor),
    callbackData: callbackData.buy(p.packageCode),
  }));
  for (let i = 0; i < packages.length; i += 2) rows.push(packages.slice(i, i + 2));
  rows.push([{ text: t.button.customAmount, callbackData: callbackData.custom }]);
  if (options.starsPackages.length > 0)
    rows.push([{ text: t.stars.button, callbackData: callbackData.stars }]);
  rows.push(menuRow(t));
  return rows;
}

/** The Stars packages, one per row ("buy:stars_50"), and the menu. */
export function starsKeyboard(t: Catalogue, options: ListTopUpOptionsResponse): InlineKeyboard {
  return [
    ...options.starsPackages.map((p) => [
      { text: t.stars.package(p.amountMinor, p.credits), callbackData: callbackData.buy(p.packageCode) },
    ]),
    menuRow(t),
  ];
}
