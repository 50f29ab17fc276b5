// What can be bought, pure: the top-up packages, custom amounts and their bounds, the credits an
// amount buys, and the texts shown to the payer. No I/O here.
import type { PaymentsConfig } from "@billing/config";
import type { Purchase, TopUpOptions, TopUpPackage } from "../types.js";
import { starsEnabled, starsPackages } from "./stars.js";

export const CURRENCY = "RUB";
/** Kopecks per ruble. */
const MINOR_PER_RUB = 100n;

/** Credits bought with `amountMinor`, or undefined when it does not buy a whole number of credits. */
export function creditsFor(amountMinor: bigint, creditsPerRub: bigint): bigint | undefined {
  const scaled = amountMinor * creditsPerRub;
  return scaled % MINOR_PER_RUB === 0n ? scaled / MINOR_PER_RUB : undefined;
}

/** "rub_100" for 10 000 kopecks. Package amounts are whole rubles (configuration guarantees it). */
export function packageCodeOf(amountMinor: bigint): string {
  return `rub_${amountMinor / MINOR_PER_RUB}`;
}

export function topUpPackages(config: PaymentsConfig): TopUpPackage[] {
  return config.packagesMinor.map((amountMinor) => ({
    packageCode: packageCodeOf(amountMinor),
    amountMinor,
    credits: creditsFor(amountMinor, config.creditsPerRub) ?? 0n,
  }));
}

export function topUpOptionsOf(config: PaymentsConfig): TopUpOptions {
  return {
    packages: topUpPackages(config),
    customMinAmountMinor: config.customMinAmountMinor,
    customMaxAmountMinor: config.customMaxAmountMinor,
    currency: config.currency,
    receiptRequired: config.receipts !== undefined,
    starsPackages: starsPackages(config),
    starsRate: starsEnabled(config) ? config.stars.rate : undefined,
  };
}

/** What the caller asked to buy, before the catalogue resolved it. */
export type AskedPurchase =
  | { kind: "package"; packageCode: string }
  | { kind: "amount"; amountMinor: bigint }
  | { kind: "plan"; planCode: string }
  | { kind: "stars"; packageCode: string };

/** A request field the catalogue refuses, and why. */
export interface PurchaseViolation {
  readonly field: "package_code" | "amount_minor";
  readonly description: string;
}

/** The purchase as the catalogue prices it (plans are priced at creation, by the plan port). */
export function resolvePurchase(
  config: PaymentsConfig,
  asked: AskedPurchase,
): { purchase: Purchase } | { violation: PurchaseViolation } {
  switch (asked.kind) {
    case "package": {
      const packages = topUpPackages(config);
      const found = packages.find((p) => p.packageCode === asked.packageCode);
      if (found === undefined) {
        const offered = packages.map((p) => p.packageCode).join(", ");
        return { violation: { field: "package_code", description: `unknown package; offered: ${offered}` } };
      }
      return { purchase: { kind: "package", ...found } };
    }
    case "amount": {
      const problem = customAmountProblem(config, asked.amountMinor);
      if (problem !== undefined) return { violation: { field: "amount_minor", description: problem } };
      const credits = creditsFor(asked.amountMinor, config.creditsPerRub) ?? 0n;
      return { purchase: { kind: "amount", amountMinor: asked.amountMinor, credits } };
    }
    case "plan":
      return { purchase: asked };
    case "stars": {
      const packages = starsPackages(config);
      const found = packages.find((p) => p.packageCode === asked.packageCode);
      if (found === undefined) {
        const offered = packages.map((p) => p.packageCode).join(", ") || "none (Stars are off)";
        return {
          violation: { field: "package_code", description: `unknown Stars package; offered: ${offered}` },
        };
      }
      return {
        purchase: {
          kind: "stars",
          packageCode: found.packageCode,
          stars: found.amountMinor,
          credits: found.credits,
        },
      };
    }
  }
}

function customAmountProblem(config: PaymentsConfig, amountMinor: bigint): string | undefined {
  const { customMinAmountMinor: min, customMaxAmountMinor: max } = config;
  if (amountMinor < min) return `must be at least ${min} kopecks (${formatRubles(min)} RUB)`;
  if (amountMinor > max) return `must be at most ${max} kopecks (${formatRubles(max)} RUB)`;
  if (creditsFor(amountMinor, config.creditsPerRub) === undefined)
    return "must buy a whole number of credits (a whole number of rubles)";
  return undefined;
}

/** "100" for 10 000 kopecks, "100.50" for 10 050: for people, never a float. */
export function formatRubles(amountMinor: bigint): string {
  const rubles = amountMinor / MINOR_PER_RUB;
  const kopecks = amountMinor % MINOR_PER_RUB;
  return kopecks === 0n ? `${rubles}` : `${rubles}.${kopecks.toString().padStart(2, "0")}`;
}

/** Fills {rub}, {credits} and {plan} in a configured description, capped at YooKassa's 128 characters. */
export function renderDescription(
  template: string,
  values: { amountMinor: bigint; credits: bigint; planTitle: string },
): string {
  const text = template
    .replaceAll("{rub}", formatRubles(values.amountMinor))
    .replaceAll("{credits}", values.credits.toString())
    .replaceAll("{plan}", values.planTitle);
  return [...text].slice(0, 128).join("");
}
