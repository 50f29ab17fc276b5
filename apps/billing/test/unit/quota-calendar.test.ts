// Calendar windows in IANA zones, pure and exhaustive: every day of six years in zones without DST,
// with DST at night, with DST at midnight (midnight skipped or repeated), with odd offsets and at the
// date line; month ends of every length; leap years; and random instants with fast-check.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addCalendarMonths,
  addDays,
  addMonths,
  dateKey,
  daysInMonth,
  instantOf,
  type LocalDate,
  localDateOf,
  startOfDay,
  wallClockOf,
  windowAt,
} from "../../src/quotas/calendar.js";

const HOUR_MS = 3_600_000;
const ZONES = [
  "Europe/Moscow", // no DST since 2014
  "Europe/Berlin", // DST at 02:00/03:00
  "America/New_York",
  "America/Santiago", // DST at midnight: midnight skipped in September, repeated in April
  "America/Havana", // DST at midnight: 00:00 → 01:00 in March, 01:00 → 00:00 in November
  "Asia/Beirut", // spring forward at midnight
  "Asia/Kathmandu", // +05:45
  "Australia/Lord_Howe", // half-hour DST
  "Pacific/Chatham", // +12:45 / +13:45
  "Pacific/Kiritimati", // +14
  "Pacific/Pago_Pago", // -11
  "UTC",
] as const;

const at = (iso: string) => new Date(iso);
const fmt = (date: Date, timeZone: string) => {
  const w = wallClockOf(date, timeZone);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
};

describe("calendar date arithmetic", () => {
  it("knows the length of every month, leap years included", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((m) => daysInMonth(2026, m))).toEqual([
      31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    ]);
    expect(daysInMonth(2028, 2)).toBe(29);
    expect(daysInMonth(2100, 2)).toBe(28); // divisible by 100, not by 400
    expect(daysInMonth(2000, 2)).toBe(29);
  });

  it("adds days across month and year ends", () => {
    expect(addDays({ year: 2026, month: 12, day: 31 }, 1)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(addDays({ year: 2028, month: 2, day: 28 }, 1)).toEqual({ year: 2028, month: 2, day: 29 });
    expect(addDays({ year: 2026, month: 2, day: 28 }, 1)).toEqual({ year: 2026, month: 3, day: 1 });
  });

  it("adds months keeping the day of month, clamped to the month's end", () => {
    expect(addMonths({ year: 2026, month: 1, day: 31 }, 1)).toEqual({ year: 2026, month: 2, day: 28 });
    expect(addMonths({ year: 2028, month: 1, day: 31 }, 1)).toEqual({ year: 2028, month: 2, day: 29 });
    expect(addMonths({ year: 2026, month: 3, day: 31 }, 1)).toEqual({ year: 2026, month: 4, day: 30 });
    expect(addMonths({ year: 2026, month: 12, day: 15 }, 1)).toEqual({ year: 2027, month: 1, day: 15 });
    expect(addMonths({ year: 2028, month: 2, day: 29 }, 12)).toEqual({ year: 2029, month: 2, day: 28 });
    expect(addMonths({ year: 2026, month: 11, day: 30 }, 3)).toEqual({ year: 2027, month: 2, day: 28 });
  });
});

describe("instants of wall times", () => {
  it("maps a wall time to its instant, the earlier one in an overlap and past the gap in a gap", () => {
    const wall = (iso: string) => {
      const [date = "", time = ""] = iso.split(" ");
      const [year, month, day] = date.split("-").map(Number);
      const [hour, minute] = time.split(":").map(Number);
      return {
        year: year ?? 0,
        month: month ?? 0,
        day: day ?? 0,
        hour: hour ?? 0,
        minute: minute ?? 0,
        second: 0,
        millisecond: 0,
      };
    };
    expect(instantOf(wall("2026-11-22 13:00"), "Europe/Moscow").toISOString()).toBe(
      "2026-11-22T10:00:00.000Z",
    );
    // Berlin, 29 March 2026: 02:00-03:00 does not exist; 02:30 is read as 03:30 CEST.
    expect(instantOf(wall("2026-03-29 02:30"), "Europe/Berlin").toISOString()).toBe(
      "2026-03-29T01:30:00.000Z",
    );
    // Berlin, 25 October 2026: 02:00-03:00 happens twice; the first (CEST) is taken.
    expect(instantOf(wall("2026-10-25 02:30"), "Europe/Berlin").toISOString()).toBe(
      "2026-10-25T00:30:00.000Z",
    );
    expect(instantOf(wall("2026-10-25 03:30"), "Europe/Berlin").toISOString()).toBe(
      "2026-10-25T02:30:00.000Z",
    );
  });
});

describe("start of a local day", () => {
  it("is local midnight in ordinary zones", () => {
    expect(startOfDay({ year: 2026, month: 11, day: 22 }, "Europe/Moscow").toISOString()).toBe(
      "2026-11-21T21:00:00.000Z",
    );
    expect(startOfDay({ year: 2026, month: 3, day: 29 }, "Europe/Berlin").toISOString()).toBe(
      "2026-03-28T23:00:00.000Z",
    );
    expect(startOfDay({ year: 2026, month: 3, day: 30 }, "Europe/Berlin").toISOString()).toBe(
      "2026-03-29T22:00:00.000Z",
    );
    expect(startOfDay({ year: 2026, month: 11, day: 22 }, "Asia/Kathmandu").toISOString()).toBe(
      "2026-11-21T18:15:00.000Z",
    );
  });

  it("is 01:00 where a DST change skips midnight, and the first 00:00 where it repeats it", () => {
    // Santiago, 6 September 2026: 00:00 -04 becomes 01:00 -03.
    const santiago = startOfDay({ year: 2026, month: 9, day: 6 }, "America/Santiago");
    expect([santiago.toISOString(), fmt(santiago, "America/Santiago")]).toEqual([
      "2026-09-06T04:00:00.000Z",
      "2026-09-06 01:00:00",
    ]);
    expect(fmt(new Date(santiago.getTime() - 1), "America/Santiago")).toBe("2026-09-05 23:59:59");
    // Havana, 8 March 2026: the same at 00:00 -05.
    expect(startOfDay({ year: 2026, month: 3, day: 8 }, "America/Havana").toISOString()).toBe(
      "2026-03-08T05:00:00.000Z",
    );
    // Havana, 1 November 2026: 01:00 -04 goes back to 00:00 -05; the day starts at the first 00:00.
    expect(startOfDay({ year: 2026, month: 11, day: 1 }, "America/Havana").toISOString()).toBe(
      "2026-11-01T04:00:00.000Z",
    );
  });

  // The defining property, checked for every day of 2024-2029 in every zone: the start is on the
  // date, and the millisecond before it is on an earlier date.
  it.each(ZONES)("is the first instant of every day of 2024-2029 in %s", (timeZone) => {
    let date: LocalDate = { year: 2024, month: 1, day: 1 };
    let previousStart = startOfDay(addDays(date, -1), timeZone);
    const lengths = new Map<number, number>();
    for (let i = 0; i < 6 * 366 && date.year < 2030; i++) {
      const start = startOfDay(date, timeZone);
      expect(dateKey(localDateOf(start, timeZone))).toBe(dateKey(date));
      expect(dateKey(localDateOf(new Date(start.getTime() - 1), timeZone))).toBeLessThan(dateKey(date));
      const lengthMs = start.getTime() - previousStart.getTime();
      lengths.set(lengthMs, (lengths.get(lengthMs) ?? 0) + 1);
      previousStart = start;
      date = addDays(date, 1);
    }
    // Days last 24 hours except on DST changes (23/25 h, 23.5/24.5 h at Lord Howe).
    for (const lengthMs of lengths.keys()) {
      expect([23, 23.5, 24, 24.5, 25]).toContain(lengthMs / HOUR_MS);
    }
    expect(lengths.get(24 * HOUR_MS)).toBeGreaterThan(2_000);
  });
});

describe("quota windows", () => {
  it("finds the Moscow day and month of an instant, boundaries included", () => {
    const tz = "Europe/Moscow";
    const day = (iso: string) => {
      const w = windowAt("day", at(iso), tz);
      return [w.start.toISOString(), w.end.toISOString()];
    };
    expect(day("2026-11-22T10:00:00Z")).toEqual(["2026-11-21T21:00:00.000Z", "2026-11-22T21:00:00.000Z"]);
    expect(day("2026-11-22T20:59:59.999Z")).toEqual(["2026-11-21T21:00:00.000Z", "2026-11-22T21:00:00.000Z"]);
    expect(day("2026-11-22T21:00:00.000Z")).toEqual(["2026-11-22T21:00:00.000Z", "2026-11-23T21:00:00.000Z"]);
    // UTC date and local date differ between 21:00 and 24:00 UTC.
    expect(day("2026-12-31T22:30:00Z")).toEqual(["2026-12-31T21:00:00.000Z", "2027-01-01T21:00:00.000Z"]);

    const month = (iso: string) => {
      const w = windowAt("month", at(iso), tz);
      return [w.start.toISOString(), w.end.toISOString()];
    };
    expect(month("2026-01-15T00:00:00Z")).toEqual(["2025-12-31T21:00:00.000Z", "2026-01-31T21:00:00.000Z"]);
    expect(month("2026-02-28T20:59:59.999Z")).toEqual([
      "2026-01-31T21:00:00.000Z",
      "2026-02-28T21:00:00.000Z",
    ]);
    expect(month("2026-02-28T21:00:00Z")).toEqual(["2026-02-28T21:00:00.000Z", "2026-03-31T21:00:00.000Z"]);
    expect(month("2028-02-29T12:00:00Z")).toEqual(["2028-01-31T21:00:00.000Z", "2028-02-29T21:00:00.000Z"]);
    expect(month("2026-04-30T20:59:59Z")).toEqual(["2026-03-31T21:00:00.000Z", "2026-04-30T21:00:00.000Z"]);
    expect(month("2026-12-31T21:00:00Z")).toEqual(["2026-12-31T21:00:00.000Z", "2027-01-31T21:00:00.000Z"]);
  });

  it("gives every month its length in days (and DST hours) in Berlin", () => {
    const tz = "Europe/Berlin";
    const hours = [];
    for (let month = 1; month <= 12; month++) {
      const w = windowAt(
        "month",
        instantOf({ year: 2028, month, day: 10, hour: 12, minute: 0, second: 0, millisecond: 0 }, tz),
        tz,
      );
      hours.push((w.end.getTime() - w.start.getTime()) / HOUR_MS);
    }
    // 2028 is a leap year; March loses an hour, October gains one.
    expect(hours).toEqual([744, 696, 743, 720, 744, 720, 744, 744, 720, 745, 720, 744]);
  });

  it("covers every instant by exactly one window, with the next window starting at the reset (property)", () => {
    fc.assert(
      fc.property(
        fc.date({ min: at("2000-01-01T00:00:00Z"), max: at("2099-12-31T00:00:00Z"), noInvalidDate: true }),
        fc.constantFrom(...ZONES),
        fc.constantFrom("day" as const, "month" as const),
        (instant, timeZone, kind) => {
          const window = windowAt(kind, instant, timeZone);
          expect(window.start <= instant && instant < window.end).toBe(true);
          const first = localDateOf(window.start, timeZone);
          expect(dateKey(localDateOf(new Date(window.start.getTime() - 1), timeZone))).toBeLessThan(
            dateKey(first),
          );
          if (kind === "month") expect(first.day).toBe(1);
          // The window of the reset instant starts there; the last millisecond belongs to this one.
          expect(windowAt(kind, window.end, timeZone).start).toEqual(window.end);
          expect(windowAt(kind, new Date(window.end.getTime() - 1), timeZone)).toEqual(window);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("calendar months after an instant (plan periods)", () => {
  it("keeps the local wall time and clamps the day", () => {
    const moscow = "Europe/Moscow";
    // 31 January 10:00 → 28 February 10:00 (29 in 2028).
    expect(addCalendarMonths(at("2026-01-31T07:00:00Z"), 1, moscow).toISOString()).toBe(
      "2026-02-28T07:00:00.000Z",
    );
    expect(addCalendarMonths(at("2028-01-31T07:00:00Z"), 1, moscow).toISOString()).toBe(
      "2028-02-29T07:00:00.000Z",
    );
    expect(addCalendarMonths(at("2026-11-22T10:00:00Z"), 1, moscow).toISOString()).toBe(
      "2026-12-22T10:00:00.000Z",
    );
    expect(addCalendarMonths(at("2026-11-22T10:00:00Z"), 12, moscow).toISOString()).toBe(
      "2027-11-22T10:00:00.000Z",
    );
    // Across a DST change the wall time stays and the instant moves by an hour.
    const berlin = "Europe/Berlin";
    const march = addCalendarMonths(at("2026-03-15T11:00:00Z"), 1, berlin);
    expect([march.toISOString(), fmt(march, berlin)]).toEqual([
      "2026-04-15T10:00:00.000Z",
      "2026-04-15 12:00:00",
    ]);
    // A wall time in the spring-forward gap moves past it.
    expect(fmt(addCalendarMonths(at("2026-02-28T01:30:00Z"), 1, berlin), berlin)).toBe("2026-03-28 02:30:00");
    expect(fmt(addCalendarMonths(at("2026-01-29T01:30:00Z"), 2, berlin), berlin)).toBe("2026-03-29 03:30:00");
  });
});
