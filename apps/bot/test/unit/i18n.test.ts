import { describe, expect, it } from "vitest";
import { en } from "../../src/i18n/en.js";
import { pluralRu, rublesText } from "../../src/i18n/format.js";
import { localeOf } from "../../src/i18n/index.js";
import { ru } from "../../src/i18n/ru.js";

/** Every key path of a catalogue, functions and strings alike. */
function paths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, inner]) =>
    paths(inner, prefix === "" ? key : `${prefix}.${key}`),
  );
}

describe("catalogues", () => {
  it("have the same keys in ru and en (also checked by the compiler)", () => {
    expect(paths(en).sort()).toEqual(paths(ru).sort());
  });

  it("leave no text empty", () => {
    for (const catalogue of [ru, en]) {
      for (const path of paths(catalogue)) {
        const value = path
          .split(".")
          .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], catalogue);
        if (typeof value === "string") expect(value.trim(), path).not.toBe("");
      }
    }
  });

  it("say amounts in proper Russian and English", () => {
    expect([1n, 2n, 5n, 11n, 21n, 22n, 90n, 111n].map((n) => ru.amount.credits(n))).toEqual([
      "1 кредит",
      "2 кредита",
      "5 кредитов",
      "11 кредитов",
      "21 кредит",
      "22 кредита",
      "90 кредитов",
      "111 кредитов",
    ]);
    expect(ru.amount.freeOperations(4n)).toBe("4 бесплатные операции");
    expect(ru.amount.freeOperations(1n)).toBe("1 бесплатная операция");
    expect(en.amount.credits(1n)).toBe("1 credit");
    expect(en.amount.credits(90n)).toBe("90 credits");
    expect(ru.amount.rub(25_050n)).toBe("250,50 ₽");
    expect(en.amount.rub(10_000n)).toBe("100 ₽");
    expect(pluralRu(-3n, "a", "b", "c")).toBe("b");
    expect(rublesText(-5n, ".")).toBe("-0.05");
  });

  it("use the product's wording", () => {
    expect(ru.button.mode.generate).toBe("🎨 Создать");
    expect(ru.button.payBalance).toBe("💰 Оплатить / Баланс");
    expect(ru.topUp.succeeded(100n, 100n)).toContain("✅ Оплата получена! Начислено 100 кредитов.");
    expect(en.topUp.succeeded(100n, 100n)).toContain("✅ Payment received: 100 credits added");
  });
});

describe("language", () => {
  it("English for en, Russian for ru and its neighbours, the default otherwise", () => {
    expect(localeOf("en", "ru")).toBe("en");
    expect(localeOf("en-GB", "ru")).toBe("en");
    expect(localeOf("ru", "en")).toBe("ru");
    expect(localeOf("uk", "en")).toBe("ru");
    expect(localeOf("de", "ru")).toBe("ru");
    expect(localeOf("de", "en")).toBe("en");
    expect(localeOf(undefined, "ru")).toBe("ru");
  });
});
