// Promo credits in words: the two notices in both languages with their plural forms.
import { describe, expect, it } from "vitest";
import { en } from "../../src/i18n/en.js";
import { ru } from "../../src/i18n/ru.js";

describe("promo notices", () => {
  const until = "4 декабря 2026, 14:05 UTC+3";

  it("announce a grant with Russian plurals", () => {
    expect(ru.promo.granted(1n, until)).toMatch(
      /^🎁 Вам начислен 1 промо-кредит, действует до 4 декабря 2026, 14:05 UTC\+3\.\n/,
    );
    expect(ru.promo.granted(3n, until)).toContain("Вам начислено 3 промо-кредита, действуют до");
    expect(ru.promo.granted(11n, until)).toContain("Вам начислено 11 промо-кредитов, действуют до");
    expect(ru.promo.granted(21n, until)).toContain("Вам начислен 21 промо-кредит, действует до");
    expect(ru.promo.granted(50n, until)).toContain("Вам начислено 50 промо-кредитов");
  });

  it("announce a grant in English", () => {
    expect(en.promo.granted(1n, "4 December 2026, 14:05 UTC+3")).toMatch(
      /^🎁 You got 1 promo credit, valid until 4 December 2026, 14:05 UTC\+3\.\n/,
    );
    expect(en.promo.granted(50n, "X")).toContain("You got 50 promo credits, valid until X.");
  });

  it("warn of an expiry with the verb and pronoun agreeing", () => {
    expect(ru.promo.expiring(1n, until)).toBe(
      "⌛ Осталось меньше суток: 1 промо-кредит сгорит 4 декабря 2026, 14:05 UTC+3.\nУспейте его потратить!",
    );
    expect(ru.promo.expiring(2n, "X")).toContain("2 промо-кредита сгорят X.\nУспейте их потратить!");
    expect(ru.promo.expiring(12n, "X")).toContain("12 промо-кредитов сгорят X.");
    expect(en.promo.expiring(1n, "X")).toBe(
      "⌛ Less than a day left: 1 promo credit expires on X.\nUse it before it is gone!",
    );
    expect(en.promo.expiring(40n, "X")).toBe(
      "⌛ Less than a day left: 40 promo credits expire on X.\nUse them before they are gone!",
    );
  });
});
