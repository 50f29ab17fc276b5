// Money at the YooKassa boundary: integer kopecks (bigint) inside, "100.00" decimal strings on the
// wire. Exact string arithmetic only: no floats, no toFixed, no Number() on a money path.

/** ISO-4217 code as YooKassa sends it. Only two-decimal currencies are supported by this module. */
export type CurrencyCode = string;

/** An amount of money in minor units (kopecks for RUB). */
export interface MonetaryAmount {
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
}

// Bound the magnitude so a hostile or broken value cannot make us build huge bigints. 15 integer
// digits (10^15 RUB) is far above any real payment yet keeps every value exact.
const MAX_INTEGER_DIGITS = 15;
export const MAX_AMOUNT_MINOR: bigint = 10n ** BigInt(MAX_INTEGER_DIGITS + 2) - 1n;

// Exactly two decimals, no sign, no exponent, no leading zeros ("0.50" is fine, "00.50" is not).
const WIRE_VALUE = new RegExp(`^(0|[1-9][0-9]{0,${MAX_INTEGER_DIGITS - 1}})\\.([0-9]{2})$`);
const CURRENCY = /^[A-Z]{3}$/;

export class MoneyFormatError extends Error {
  override readonly name = "MoneyFormatError";
}

/** kopecks → "123.45". Throws on negative or out-of-range values (a bug in the caller). */
export function formatAmountValue(amountMinor: bigint): string {
  if (amountMinor < 0n) throw new MoneyFormatError("amount must not be negative");
  if (amountMinor > MAX_AMOUNT_MINOR) throw new MoneyFormatError("amount is out of range");
  const units = amountMinor / 100n;
  const cents = amountMinor % 100n;
  return `${units.toString()}.${cents.toString().padStart(2, "0")}`;
}

/** "123.45" → 12345n. Anything but exactly two decimals is refused ("1e3", "10.5", "-1.00", " 1.00"). */
export function parseAmountValue(value: string): bigint {
  const match = WIRE_VALUE.exec(value);
  if (match === null) throw new MoneyFormatError('amount value must look like "100.00"');
  const [, units = "", cents = ""] = match;
  return BigInt(units) * 100n + BigInt(cents);
}

export function isCurrencyCode(value: string): boolean {
  return CURRENCY.test(value);
}

/** Wire shape of an amount: `{ value: "100.00", currency: "RUB" }`. */
export interface WireAmount {
  readonly value: string;
  readonly currency: string;
}

export function toWireAmount(amount: MonetaryAmount): WireAmount {
  if (!isCurrencyCode(amount.currency)) throw new MoneyFormatError("currency must be a 3-letter ISO code");
  return { value: formatAmountValue(amount.amountMinor), currency: amount.currency };
}

export function fromWireAmount(wire: WireAmount): MonetaryAmount {
  if (!isCurrencyCode(wire.currency)) throw new MoneyFormatError("currency must be a 3-letter ISO code");
  return { amountMinor: parseAmountValue(wire.value), currency: wire.currency };
}
