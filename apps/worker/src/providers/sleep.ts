// An abortable wait: a job that is cancelled or past its deadline must not sit out a poll interval
// or a simulated latency.
import { setTimeout as delay } from "node:timers/promises";
import { abortError } from "./errors.js";

/** Sleeps unless the job is aborted first (then rejects with the job's abort error). */
export async function sleep(ms: number, signal: AbortSignal, provider: string): Promise<void> {
  if (signal.aborted) throw abortError(signal, provider);
  try {
    await delay(ms, undefined, { signal });
  } catch (error) {
    if (signal.aborted) throw abortError(signal, provider);
    throw error;
  }
}
