// The group-commit batcher's bounds, in memory: a full queue refuses at once, a command whose caller
// gave up never runs, a broken batch is retried one command at a time within the in-flight bound,
// and commands on rows a running batch holds wait and then go together.
import { describe, expect, it } from "vitest";
import type { Outcome } from "../../src/commands/index.js";
import { DomainError } from "../../src/domain/errors.js";
import { Batcher } from "../../src/ledger/batcher.js";

interface Command {
  user: string;
  value: number;
}

/** A batcher whose batches wait for `release()`, recording each batch it ran. */
function gatedBatcher(options: { maxBatch?: number; maxInFlight?: number; maxQueued?: number } = {}) {
  const batches: Command[][] = [];
  let inFlight = 0;
  let maxSeenInFlight = 0;
  const gates: (() => void)[] = [];
  const batcher = new Batcher<Command, number>({
    name: "test",
    maxBatch: options.maxBatch ?? 64,
    maxInFlight: options.maxInFlight ?? 2,
    maxQueued: options.maxQueued ?? 100,
    lockKeyOf: (c) => c.user,
    run: async (batch) => {
      batches.push(batch);
      inFlight++;
      maxSeenInFlight = Math.max(maxSeenInFlight, inFlight);
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight--;
      if (batch.length > 1 && batch.some((c) => c.value < 0))
        throw new Error("a broken command broke the batch");
      return batch.map((c): Outcome<number> =>
        c.value < 0
          ? { ok: false, error: new DomainError("INVALID_FIELD", "negative") }
          : { ok: true, value: c.value * 10, replayed: false },
      );
    },
  });
  const releaseAll = async () => {
    for (let rounds = 0; rounds < 100 && (gates.length > 0 || inFlight > 0); rounds++) {
      for (const open of gates.splice(0)) open();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { batcher, batches, releaseAll, maxInFlight: () => maxSeenInFlight };
}

describe("Batcher", () => {
  it("refuses with UNAVAILABLE once the queue is full, and runs what it accepted", async () => {
    const { batcher, releaseAll } = gatedBatcher({ maxInFlight: 1, maxQueued: 3 });
    const running = batcher.submit({ user: "a", value: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const queued = [2, 3, 4].map((value) => batcher.submit({ user: "b", value }));
    await expect(batcher.submit({ user: "c", value: 5 })).rejects.toMatchObject({ reason: "UNAVAILABLE" });
    await releaseAll();
    expect(await running).toBe(10);
    expect(await Promise.all(queued)).toEqual([20, 30, 40]);
  });

  it("never runs a command whose caller gave up before its turn", async () => {
    const { batcher, batches, releaseAll } = gatedBatcher({ maxInFlight: 1 });
    const first = batcher.submit({ user: "a", value: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const caller = new AbortController();
    const abandoned = batcher.submit({ user: "b", value: 2 }, caller.signal).catch((e: unknown) => e);
    const kept = batcher.submit({ user: "c", value: 3 });
    caller.abort();
    await releaseAll();
    expect(await abandoned).toMatchObject({ reason: "UNAVAILABLE" });
    expect([await first, await kept]).toEqual([10, 30]);
    expect(batches.flat().map((c) => c.value)).toEqual([1, 3]);
  });

  it("re-runs a broken batch one command at a time, never above the in-flight bound", async () => {
    const { batcher, batches, releaseAll, maxInFlight } = gatedBatcher({ maxInFlight: 2 });
    // Both slots busy, so the four below queue up and go as one batch.
    const blockers = ["x", "y"].map((user) => batcher.submit({ user, value: 0 }));
    await new Promise((resolve) => setImmediate(resolve));
    const outcomes = [1, -1, 2, 3].map((value, i) =>
      batcher.submit({ user: `u${i}`, value }).then(
        (v) => v,
        (e: DomainError) => e.reason,
      ),
    );
    await releaseAll();
    expect(await Promise.all(outcomes)).toEqual([10, "INVALID_FIELD", 20, 30]);
    expect(await Promise.all(blockers)).toEqual([0, 0]);
    expect(maxInFlight()).toBeLessThanOrEqual(2);
    // The broken batch of four, then each of its commands alone.
    expect(batches.map((b) => b.map((c) => c.value))).toEqual([[0], [0], [1, -1, 2, 3], [1], [-1], [2], [3]]);
  });

  it("holds commands on rows a running batch locks, then runs them together", async () => {
    const { batcher, batches, releaseAll } = gatedBatcher({ maxInFlight: 8 });
    const first = batcher.submit({ user: "hot", value: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 20 }, (_, i) => batcher.submit({ user: "hot", value: i + 2 }));
    await new Promise((resolve) => setImmediate(resolve));
    // Only the first batch runs while the hot user's rows are locked.
    expect(batches).toHaveLength(1);
    await releaseAll();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 2) * 10));
    expect(batches.map((b) => b.length)).toEqual([1, 20]);
  });
});
