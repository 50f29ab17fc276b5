// Numbers in words: plural forms and money. Money is bigint all the way (kopecks in, text out).

/** Russian plural: one (1, 21, 101), few (2-4, 22-24), many (0, 5-20, 25-30, 11-14). */
export function pluralRu(n: bigint, one: string, few: string, many: string): string {
  const abs = n < 0n ? -n : n;
  const mod10 = abs % 10n;
  const mod100 = abs % 100n;
  if (mod10 === 1n && mod100 !== 11n) return one;
  if (mod10 >= 2n && mod10 <= 4n && (mod100 < 12n || mod100 > 14n)) return few;
  return many;
}

export function pluralEn(n: bigint, one: string, other: string): string {
  return n === 1n || n === -1n ? one : other;
}

/** Whole rubles as "100", with kopecks as "250,50" (ru) or "250.50" (en). */
export function rublesText(kopecks: bigint, decimalSeparator: "," | "."): string {
  const negative = kopecks < 0n;
  const abs = negative ? -kopecks : kopecks;
  const whole = abs / 100n;
  const rest = abs % 100n;
  const text =
    rest === 0n ? whole.toString() : `${whole}${decimalSeparator}${rest.toString().padStart(2, "0")}`;
  return negative ? `-${text}` : text;
}

/** "+10" / "−10" (a real minus sign) / "0". */
export function signed(n: bigint): string {
  if (n > 0n) return `+${n}`;
  if (n < 0n) return `\u2212${-n}`;
  return "0";
}

/** Bytes as megabytes with at most one decimal ("10", "0,5"), for size limits. */
export function megabytesText(bytes: number, decimalSeparator: "," | "."): string {
  const tenths = Math.floor((bytes * 10) / (1024 * 1024));
  return tenths % 10 === 0
    ? String(tenths / 10)
    : `${Math.floor(tenths / 10)}${decimalSeparator}${tenths % 10}`;
}
