// Instants in words: the deadline format (promo expiries) and the statement's short form.
import { describe, expect, it } from "vitest";
import { formatDeadline, formatWhen } from "../../src/i18n/dates.js";

const AT = new Date("2026-12-04T11:05:00Z");

describe("deadlines", () => {
  it("read the same in any process: the bot's time zone, the year, the offset from UTC", () => {
    expect(formatDeadline(AT, "ru", "Europe/Moscow")).toBe("4 декабря 2026, 14:05 UTC+3");
    expect(formatDeadline(AT, "en", "Europe/Moscow")).toBe("4 December 2026, 14:05 UTC+3");
    expect(formatDeadline(AT, "en", "UTC")).toBe("4 December 2026, 11:05 UTC");
    expect(formatDeadline(AT, "ru", "Asia/Kolkata")).toBe("4 декабря 2026, 16:35 UTC+5:30");
    expect(formatDeadline(AT, "en", "America/New_York")).toBe("4 December 2026, 06:05 UTC-5");
    // Midnight is 00:00 of the next day (24-hour clock), across a year boundary.
    expect(formatDeadline(new Date("2026-12-31T21:00:00Z"), "ru", "Europe/Moscow")).toBe(
      "1 января 2027, 00:00 UTC+3",
    );
  });

  it("leave the statement's short form as it was", () => {
    expect(formatWhen(AT, "ru", "Europe/Moscow")).toBe("04.12, 14:05");
    expect(formatWhen(AT, "en", "UTC")).toBe("04/12, 11:05");
  });
});
