// Money at the wire boundary: exact, total on valid input, and refusing anything else.
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import {
  MAX_AMOUNT_MINOR,
  MoneyFormatError,
  formatAmountValue,
  fromWireAmount,
  parseAmountValue,
  toWireAmount,
} from "../src/index.js";

const amountMinor = fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR });
const wireValue = fc
  .tuple(fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR / 100n }), fc.integer({ min: 0, max: 99 }))
  .map(([units, cents]) => `${units.toString()}.${String(cents).padStart(2, "0")}`);

describe("amount values", () => {
  it("round-trips kopecks → string → kopecks", () => {
    fc.assert(fc.property(amountMinor, (minor) => parseAmountValue(formatAmountValue(minor)) === minor));
  });

  it("round-trips every well-formed string → kopecks → the same string", () => {
    fc.assert(fc.property(wireValue, (value) => formatAmountValue(parseAmountValue(value)) === value));
  });

  it("always writes exactly two decimals and no sign or exponent", () => {
    fc.assert(
      fc.property(amountMinor, (minor) => /^(0|[1-9][0-9]*)\.[0-9]{2}$/.test(formatAmountValue(minor))),
    );
  });

  it("preserves order and sums exactly (no float drift)", () => {
    fc.assert(
      fc.property(amountMinor, amountMinor, (a, b) => {
        const [x, y] = [formatAmountValue(a), formatAmountValue(b)];
        return parseAmountValue(x) < parseAmountValue(y) === a < b;
      }),
    );
    // The classic float trap: 0.1 + 0.2.
    expect(formatAmountValue(parseAmountValue("0.10") + parseAmountValue("0.20"))).toBe("0.30");
  });

  it("handles the edges exactly", () => {
    expect(formatAmountValue(0n)).toBe("0.00");
    expect(formatAmountValue(1n)).toBe("0.01");
    expect(formatAmountValue(10_000n)).toBe("100.00");
    expect(formatAmountValue(12_345_678_901_234_567n)).toBe("123456789012345.67");
    expect(parseAmountValue("99999999999999.99")).toBe(9_999_999_999_999_999n);
    expect(formatAmountValue(MAX_AMOUNT_MINOR)).toBe("999999999999999.99");
  });

  const malformed = [
    "1e3",
    "10.5",
    "-1.00",
    "+1.00",
    "1.001",
    "100",
    "100.",
    ".50",
    "01.00",
    " 1.00",
    "1.00 ",
    "1,00",
    "0x10.00",
    "１.00",
    "NaN",
    "Infinity",
    "",
    "1000000000000000.00",
  ];
  it.each(malformed)("refuses %j", (value) => {
    expect(() => parseAmountValue(value)).toThrow(MoneyFormatError);
  });

  it("refuses any string that is not digits.two-digits", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (text) => {
        fc.pre(!/^(0|[1-9][0-9]{0,14})\.[0-9]{2}$/.test(text));
        expect(() => parseAmountValue(text)).toThrow(MoneyFormatError);
      }),
    );
  });

  it("refuses negative and out-of-range kopecks when writing", () => {
    expect(() => formatAmountValue(-1n)).toThrow(MoneyFormatError);
    expect(() => formatAmountValue(MAX_AMOUNT_MINOR + 1n)).toThrow(MoneyFormatError);
  });

  it("converts whole amounts and checks the currency code", () => {
    fc.assert(
      fc.property(amountMinor, (minor) => {
        const wire = toWireAmount({ amountMinor: minor, currency: "RUB" });
        expect(fromWireAmount(wire)).toEqual({ amountMinor: minor, currency: "RUB" });
      }),
    );
    expect(() => toWireAmount({ amountMinor: 100n, currency: "rub" })).toThrow(MoneyFormatError);
    expect(() => fromWireAmount({ value: "1.00", currency: "RUBLE" })).toThrow(MoneyFormatError);
  });
});
