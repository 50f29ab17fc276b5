// Promo credits in words: the two notices in both languages with their plural forms, and the balance
// screen's promo part (bounded to a few lots).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { GetBalanceResponseSchema, PromoLotSchema } from "@billing/proto/billing/v1/wallet_pb";
import { describe, expect, it } from "vitest";
import { promoSection } from "../../src/flows/balance.js";
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

describe("the balance screen's promo part", () => {
  const lot = (credits: bigint, day: number) =>
    create(PromoLotSchema, {
      lotId: `lot_${day}`,
      creditsAvailable: credits,
      creditsGranted: 50n,
      expiresAt: timestampFromDate(new Date(Date.UTC(2026, 11, day, 9, 0))),
    });

  it("says nothing without promo credits", () => {
    const balance = create(GetBalanceResponseSchema, { creditsAvailable: 90n, creditsPurchased: 90n });
    expect(promoSection(ru, "ru", "Europe/Moscow", balance)).toBeUndefined();
  });

  it("splits purchased from promo and lists each lot with its expiry", () => {
    const balance = create(GetBalanceResponseSchema, {
      creditsAvailable: 140n,
      creditsPurchased: 100n,
      creditsPromo: 40n,
      promoLots: [lot(30n, 4), lot(10n, 9)],
    });
    expect(promoSection(ru, "ru", "Europe/Moscow", balance)).toEqual({
      split: "Купленные: 100 кредитов · промо: 40 кредитов",
      lots: [
        "🎟 Промо-кредиты (тратятся первыми):",
        "• 30 кредитов — до 4 декабря 2026, 12:00 UTC+3",
        "• 10 кредитов — до 9 декабря 2026, 12:00 UTC+3",
      ],
    });
    expect(promoSection(en, "en", "UTC", balance)).toEqual({
      split: "Purchased: 100 credits · promo: 40 credits",
      lots: [
        "🎟 Promo credits (spent first):",
        "• 30 credits — until 4 December 2026, 09:00 UTC",
        "• 10 credits — until 9 December 2026, 09:00 UTC",
      ],
    });
  });

  it("shows at most five lots, counts the rest, and skips lots held in full by running jobs", () => {
    const lots = [lot(0n, 1), ...[2, 3, 4, 5, 6, 7, 8].map((day) => lot(1n, day))];
    const balance = create(GetBalanceResponseSchema, { creditsPromo: 7n, promoLots: lots });
    const section = promoSection(en, "en", "UTC", balance);
    expect(section?.lots).toHaveLength(1 + 5 + 1);
    expect(section?.lots[1]).toBe("• 1 credit — until 2 December 2026, 09:00 UTC");
    expect(section?.lots.at(-1)).toBe("• …and 2 more");
    expect(promoSection(ru, "ru", "UTC", balance)?.lots.at(-1)).toBe("• …и ещё 2");
  });
});
