// Calendar arithmetic in an IANA time zone, with nothing but Intl: the local date of an instant, the
// first instant of a local day or month, and "the same wall time N months later". Pure functions;
// quota windows and plan periods are built on them.
//
// The zone database lives in Intl (ICU). An instant's local wall time is read with
// Intl.DateTimeFormat; the reverse (wall time → instant) has no API, so it is solved from the UTC
// offsets a day before and a day after (a wall time maps to at most two instants, one per offset),
// checked by formatting back, the way Temporal's polyfill does it.
import type { QuotaWindowName } from "@billing/config";

/** A calendar date; month is 1-12. */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** A wall-clock time on a calendar date. */
export interface LocalDateTime extends LocalDate {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

/** A quota window: [start, end), where end is the first instant of the next window (its reset). */
export interface CalendarWindow {
  readonly start: Date;
  readonly end: Date;
}

const DAY_MS = 86_400_000;
// Every UTC offset in the zone database lies within [-12h, +14h] (with local mean times within
// [-15h, +15h]); these margins bracket any local midnight from the naive UTC reading of its date.
const OFFSET_SEARCH_BEFORE_MS = 16 * 3_600_000;
const OFFSET_SEARCH_AFTER_MS = 16 * 3_600_000;
/** Instants from 1000-01-01 to 9999-12-31: four-digit years, so Date.UTC has no two-digit quirks. */
const MIN_MS = Date.UTC(1000, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31);
/** One formatter per zone; bounded, since formatters are cached for every zone asked about. */
const FORMATTERS_MAX = 64;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    if (formatters.size >= FORMATTERS_MAX) formatters.clear();
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, format);
  }
  return format;
}

function assertInRange(ms: number): void {
  if (!(ms >= MIN_MS && ms <= MAX_MS)) throw new RangeError(`calendar: instant ${ms} is out of range`);
}

/** The wall-clock time of an instant in a zone. */
export function wallClockOf(instant: Date, timeZone: string): LocalDateTime {
  return wallClockAt(instant.getTime(), timeZone);
}

function wallClockAt(ms: number, timeZone: string): LocalDateTime {
  assertInRange(ms);
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  // Zone offsets are whole seconds, so the milliseconds of the instant are the local ones.
  const millisecond = ((ms % 1000) + 1000) % 1000;
  const { year, month, day, hour, minute, second } = fields;
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  ) {
    throw new Error(`calendar: Intl gave an incomplete date for ${timeZone}`);
  }
  return { year, month, day, hour, minute, second, millisecond };
}

export function localDateOf(instant: Date, timeZone: string): LocalDate {
  const { year, month, day } = wallClockOf(instant, timeZone);
  return { year, month, day };
}

/** The wall time read as if it were UTC: the "naive" millisecond count. */
function naiveMs(wall: LocalDateTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond);
}

/** Local minus UTC at an instant, in milliseconds (e.g. +3h for Europe/Moscow). */
function offsetAt(ms: number, timeZone: string): number {
  return naiveMs(wallClockAt(ms, timeZone)) - ms;
}

/** The instants whose wall time is `wall`: none (a DST gap), one, or two (a DST overlap), ascending. */
function instantsOf(wall: LocalDateTime, timeZone: string): { naive: number; instants: number[] } {
  const naive = naiveMs(wall);
  const before = offsetAt(naive - DAY_MS, timeZone);
  const after = offsetAt(naive + DAY_MS, timeZone);
  const candidates =
    before === after ? [naive - before] : [naive - before, naive - after].sort((a, b) => a - b);
  const instants = candidates.filter((ms) => naiveMs(wallClockAt(ms, timeZone)) === naive);
  return { naive, instants };
}

/**
 * The instant of a wall time. An ambiguous time (DST overlap) takes the earlier instant; a time that
 * does not exist (DST gap) is moved forward by the length of the gap (02:30 on a spring-forward
 * night in Berlin is 03:30) — Temporal's "compatible" disambiguation.
 */
export function instantOf(wall: LocalDateTime, timeZone: string): Date {
  const { naive, instants } = instantsOf(wall, timeZone);
  const first = instants[0];
  if (first !== undefined) return new Date(first);
  // In a gap, reading the wall time with the offset before the transition lands past the gap.
  return new Date(naive - offsetAt(naive - DAY_MS, timeZone));
}

/**
 * The first instant of a local date: local midnight, or — where a DST transition skips midnight
 * (America/Santiago, America/Havana) — the moment the date begins after the gap.
 */
export function startOfDay(date: LocalDate, timeZone: string): Date {
  const midnight = { ...date, hour: 0, minute: 0, second: 0, millisecond: 0 };
  const { naive, instants } = instantsOf(midnight, timeZone);
  const first = instants[0];
  if (first !== undefined) return new Date(first);
  // Midnight does not exist: bisect for the first instant whose local date is this date. Local dates
  // only move forward across a gap, and the bracket holds whatever the offset.
  const target = dateKey(date);
  let before = naive - OFFSET_SEARCH_BEFORE_MS; // local date < target
  let onOrAfter = naive + OFFSET_SEARCH_AFTER_MS; // local date >= target
  for (let step = 0; step < 64 && onOrAfter - before > 1; step++) {
    const middle = Math.floor((before + onOrAfter) / 2);
    if (dateKey(wallClockAt(middle, timeZone)) >= target) onOrAfter = middle;
    else before = middle;
  }
  return new Date(onOrAfter);
}

/** Sortable number of a date: 20261122. */
export function dateKey(date: LocalDate): number {
  return date.year * 10_000 + date.month * 100 + date.day;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const shifted = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

/** The same day-of-month `months` later, clamped to the month's last day (Jan 31 + 1 → Feb 28/29). */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const index = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

/** The calendar day or month that contains `instant`. */
export function windowAt(kind: QuotaWindowName, instant: Date, timeZone: string): CalendarWindow {
  const today = localDateOf(instant, timeZone);
  let first: LocalDate;
  let next: LocalDate;
  switch (kind) {
    case "day":
      first = today;
      next = addDays(today, 1);
      break;
    case "month":
      first = { year: today.year, month: today.month, day: 1 };
      next = addMonths(first, 1);
      break;
  }
  const window = { start: startOfDay(first, timeZone), end: startOfDay(next, timeZone) };
  // A window that does not contain its instant would count usage against the wrong counter.
  if (!(window.start <= instant && instant < window.end)) {
    throw new Error(`calendar invariant: ${kind} window of ${instant.toISOString()} in ${timeZone}`);
  }
  return window;
}

/**
 * The same local wall time `months` calendar months after `instant`, with the day-of-month clamped
 * (a period bought on 31 January at 10:00 ends on 28 or 29 February at 10:00).
 */
export function addCalendarMonths(instant: Date, months: number, timeZone: string): Date {
  const wall = wallClockOf(instant, timeZone);
  return instantOf({ ...wall, ...addMonths(wall, months) }, timeZone);
}
