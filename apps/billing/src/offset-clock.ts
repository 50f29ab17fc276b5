// A clock for end-to-end tests that must move billing's time (a promo lot expiring "the next day"):
// wall time plus the offset in milliseconds held by a file the test writes. Re-read at most every
// 100 ms so a test's change shows up quickly without a read per call. Set only through
// BILLING_UNSAFE_TEST_CLOCK_FILE, which main.ts announces loudly.
import { readFileSync } from "node:fs";
import type { Clock } from "./domain/clock.js";

const REREAD_MS = 100;

export function offsetClock(file: string): Clock {
  let offsetMs = 0;
  let readAt = -Infinity;
  return {
    now() {
      const wall = Date.now();
      if (wall - readAt >= REREAD_MS) {
        readAt = wall;
        offsetMs = readOffset(file);
      }
      return new Date(wall + offsetMs);
    },
  };
}

/** A missing or unreadable file is no offset; anything but an integer is refused loudly. */
function readOffset(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return 0;
  }
  if (text === "") return 0;
  const offset = Number(text);
  if (!Number.isSafeInteger(offset)) throw new Error(`${file}: expected an offset in ms, got "${text}"`);
  return offset;
}
