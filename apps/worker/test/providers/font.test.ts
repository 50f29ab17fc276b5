import { describe, expect, it } from "vitest";
import { FALLBACK_GLYPH, glyphFor, hasGlyph } from "../../src/providers/local/font.js";
import { wrapText } from "../../src/providers/local/operations.js";

const range = (from: string, to: string): string[] =>
  Array.from({ length: to.codePointAt(0)! - from.codePointAt(0)! + 1 }, (_, i) =>
    String.fromCodePoint(from.codePointAt(0)! + i),
  );

describe("bitmap font", () => {
  it("covers printable ASCII and the Russian alphabet in both cases", () => {
    const required = [...range(" ", "~"), ...range("А", "Я"), ...range("а", "я"), "Ё", "ё"];
    expect(required.filter((char) => !hasGlyph(char))).toEqual([]);
  });

  it("gives different letters different shapes", () => {
    for (const alphabet of [
      range("А", "Я"),
      range("а", "я"),
      range("A", "Z"),
      range("a", "z"),
      range("0", "9"),
    ]) {
      const shapes = new Set(alphabet.map((char) => Buffer.from(glyphFor(char)).toString("hex")));
      expect(shapes.size).toBe(alphabet.length);
    }
  });

  it("draws anything else as the fallback box", () => {
    expect(glyphFor("😀")).toBe(FALLBACK_GLYPH);
    expect(glyphFor("漢")).toBe(FALLBACK_GLYPH);
    expect(glyphFor("A")).not.toBe(FALLBACK_GLYPH);
  });
});

describe("wrapText", () => {
  it("wraps at spaces, breaks words longer than a line and marks cut text", () => {
    expect(wrapText("hello big world", 9, 5)).toEqual(["hello big", "world"]);
    expect(wrapText("abcdefghij", 4, 5)).toEqual(["abcd", "efgh", "ij"]);
    expect(wrapText("one two three four", 5, 2)).toEqual(["one", "two…"]);
    expect(wrapText("   ", 5, 2)).toEqual([]);
  });
});
