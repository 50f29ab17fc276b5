// The fake's own reading of YooKassa amounts. Written separately from @billing/yookassa on purpose:
// a fake that shared the client's parser would agree with the client's bugs.

// YooKassa accepts "100", "100.5" and "100.50" (a string, or a JSON number) and always answers "100.50".
const INBOUND_VALUE = /^(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,2}))?$/;

/** Minor units from a request `amount.value`, or undefined when YooKassa would refuse it. */
export function readAmountValue(value: unknown): bigint | undefined {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else return undefined;
  const match = INBOUND_VALUE.exec(text);
  if (match === null) return undefined;
  const units = match[1] ?? "0";
  const fraction = (match[2] ?? "").padEnd(2, "0");
  return BigInt(units) * 100n + BigInt(fraction);
}

export function writeAmountValue(amountMinor: bigint): string {
  if (amountMinor < 0n) throw new RangeError("negative amount");
  return `${(amountMinor / 100n).toString()}.${(amountMinor % 100n).toString().padStart(2, "0")}`;
}

const QUANTITY = /^(0|[1-9][0-9]{0,8})(?:\.([0-9]{1,3}))?$/;

/** Receipt item quantity in thousandths (quantity "1.5" → 1500n), or undefined if invalid. */
export function readQuantityMilli(value: unknown): bigint | undefined {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else return undefined;
  const match = QUANTITY.exec(text);
  if (match === null) return undefined;
  const milli = BigInt(match[1] ?? "0") * 1000n + BigInt((match[2] ?? "").padEnd(3, "0"));
  return milli > 0n ? milli : undefined;
}
