// A billing call that is safe to repeat (OpenAccount, Reserve with its idempotency key, GetHold),
// repeated when its outcome is unknown: a deadline that ran out while billing was busy, or billing
// unreachable for a moment. A repeat of a mutation that did happen is answered from billing's
// idempotency record, so the user gets the job they asked for instead of an apology and a hold that
// only comes back when it expires. Bounded: a few attempts, growing pauses.
import { Code, ConnectError } from "@billing/client";
import { setTimeout as sleep } from "node:timers/promises";

const ATTEMPTS = 3;
const BACKOFF_BASE_MS = 500;

export function isUnknownOutcome(error: unknown): boolean {
  return (
    error instanceof ConnectError && (error.code === Code.DeadlineExceeded || error.code === Code.Unavailable)
  );
}

export async function repeatable<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isUnknownOutcome(error) || attempt >= ATTEMPTS) throw error;
      await sleep(BACKOFF_BASE_MS * 2 ** (attempt - 1));
    }
  }
}
