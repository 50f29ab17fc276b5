import { describe, expect, it } from "vitest";
import { BoundedMap, BoundedSet, KeyedSerializer, Semaphore } from "../../src/bounded.js";

describe("bounded memory", () => {
  it("forgets after the ttl and evicts the least recently used beyond the size", () => {
    let now = 0;
    const map = new BoundedMap<string, number>(2, 100, () => now);
    map.set("a", 1);
    map.set("b", 2);
    expect(map.get("a")).toBe(1); // a is now the most recent
    map.set("c", 3);
    expect([map.has("a"), map.has("b"), map.has("c")]).toEqual([true, false, true]);
    now = 150;
    expect(map.get("a")).toBeUndefined();
    expect(map.size).toBeLessThanOrEqual(2);
    const set = new BoundedSet<number>(10, 100, () => now);
    expect(set.addIfAbsent(1)).toBe(true);
    expect(set.addIfAbsent(1)).toBe(false);
  });

  it("runs one user's tasks in order, other users' concurrently, and forgets idle users", async () => {
    const serializer = new KeyedSerializer<number>();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`${name}>`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`<${name}`);
    };
    await Promise.all([
      serializer.run(1, task("a1", 30)),
      serializer.run(1, task("a2", 1)),
      serializer.run(2, task("b1", 5)),
    ]);
    expect(log.indexOf("<a1")).toBeLessThan(log.indexOf("a2>"));
    expect(log.indexOf("b1>")).toBeLessThan(log.indexOf("<a1"));
    // A failing task does not stop the next one.
    await serializer.run(3, () => Promise.reject(new Error("boom"))).catch(() => undefined);
    await serializer.run(3, task("c", 1));
    await serializer.idle();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(serializer.active).toBe(0);
  });
});

describe("Semaphore", () => {
  it("runs at most `limit` tasks at once, the rest in arrival order, and survives failing tasks", async () => {
    const slots = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (id: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(id);
      running--;
      if (id === 1) throw new Error("boom");
      return id;
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((id) => slots.run(task(id))));
    expect(peak).toBe(2);
    expect(results.map((r) => r.status)).toEqual([
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect(order.slice(2).sort()).toEqual([3, 4, 5]);
    expect(await slots.run(() => Promise.resolve("after"))).toBe("after");
  });
});
