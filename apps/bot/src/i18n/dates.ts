// Instants in words, in the bot's time zone (BOT_TIME_ZONE): short for statement entries, full with
// the year and the UTC offset for deadlines (a promo lot's expiry), so that "until" is unambiguous
// wherever the user is. No I/O, no clock: the same instant always reads the same.
import type { Locale } from "./index.js";

const INTL_LOCALE: Readonly<Record<Locale, string>> = { ru: "ru-RU", en: "en-GB" };

/** "03.12, 14:05": a statement entry (this year's, as a rule). */
export function formatWhen(date: Date, locale: Locale, timeZone: string): string {
  return new Intl.DateTimeFormat(INTL_LOCALE[locale], {
    timeZone,
    day: "2-digit",
    month: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(date);
}

/**
 * "4 декабря 2026, 14:05 UTC+3" / "4 December 2026, 14:05 UTC+3". Assembled from the parts rather
 * than Intl's own pattern, whose glue words ("at", "г. в") differ between ICU versions; the month name
 * is Intl's (the genitive in Russian).
 */
export function formatDeadline(date: Date, locale: Locale, timeZone: string): string {
  const parts = new Intl.DateTimeFormat(INTL_LOCALE[locale], {
    timeZone,
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "shortOffset",
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  // Intl says "GMT+0" (or "GMT"), "GMT+3", "GMT+5:30": offsets from UTC, so labelled UTC.
  const offset = part("timeZoneName");
  const zone = /^GMT(?:\+0)?$/.test(offset) ? "UTC" : offset.replace(/^GMT/, "UTC");
  return `${part("day")} ${part("month")} ${part("year")}, ${part("hour")}:${part("minute")} ${zone}`;
}
