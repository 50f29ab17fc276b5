// The consume helper against a real JetStream work queue: what is acked, nak'ed, dead-lettered and
// redelivered, and how many handlers run at once.
import { create, fromBinary } from "@bufbuild/protobuf";
import { DeadLetterSchema } from "@billing/proto/events/v1/deadletter_pb";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ack,
  deadLetter,
  ensureConsumer,
  nak,
  publishGenerationRequested,
  publishRaw,
  startConsumer,
  workerConsumer,
  type ConsumerBounds,
  type Delivery,
  type Outcome,
  type RunningConsumer,
  type SettledKind,
} from "../src/index.js";
import { log, openTestNamespace, sleep, waitFor } from "./helpers.js";
import type { OwnNamespace } from "../src/index.js";

type Job = ReturnType<typeof create<typeof GenerationRequestedSchema>>;

let ns: OwnNamespace;
const running: RunningConsumer[] = [];

beforeEach(async () => {
  ns = await openTestNamespace("events_consume");
});
afterEach(async () => {
  for (const consumer of running.splice(0)) await consumer.stop();
  await ns.close();
});

async function consume(
  handler: (delivery: Delivery<Job>) => Promise<Outcome>,
  options: {
    concurrency?: number;
    bounds?: Partial<ConsumerBounds>;
    onSettled?: (kind: SettledKind) => void;
  } = {},
): Promise<RunningConsumer> {
  const definition = workerConsumer(ns.names, { maxDeliver: 5, ackWaitMs: 5_000, ...options.bounds });
  await ensureConsumer(ns.jsm, definition);
  const consumer = await startConsumer({
    nc: ns.nc,
    names: ns.names,
    stream: definition.stream,
    consumer: definition.config.durable_name ?? "",
    schema: GenerationRequestedSchema,
    concurrency: options.concurrency ?? 4,
    handler,
    log,
    app: "events-test",
    fetchExpiresMs: 1_000,
    retryDelayMs: () => 100,
    ...(options.onSettled === undefined ? {} : { onSettled: options.onSettled }),
  });
  running.push(consumer);
  return consumer;
}

const job = (jobId: string) =>
  create(GenerationRequestedSchema, {
    jobId,
    userRef: "telegram:7",
    operation: "generate",
    holdId: `hold-${jobId}`,
  });

const pending = async () => (await ns.jsm.streams.info(ns.names.streams.jobs)).state.messages;

async function deadLetters() {
  const info = await ns.jsm.streams.info(ns.names.streams.deadLetter);
  const records = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const stored = await ns.jsm.streams.getMessage(ns.names.streams.deadLetter, { seq });
    if (stored !== null)
      records.push({ subject: stored.subject, record: fromBinary(DeadLetterSchema, stored.data) });
  }
  return records;
}

describe("startConsumer", () => {
  it("acks after the handler's effect: each job handled once and removed from the work queue", async () => {
    const seen: string[] = [];
    await consume(async ({ message }) => {
      await sleep(20);
      seen.push(message.jobId);
      return ack;
    });
    for (let i = 0; i < 10; i++) await publishGenerationRequested(ns.js, ns.names, job(`j${i}`));
    await waitFor("all acked", async () =>
      (await pending()) === 0 && seen.length === 10 ? true : undefined,
    );
    await sleep(300);
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `j${i}`).sort());
  });

  it("naks with the handler's delay and gets the message again, counting deliveries", async () => {
    const deliveries: { count: number; at: number }[] = [];
    await consume(async ({ deliveryCount }) => {
      deliveries.push({ count: deliveryCount, at: Date.now() });
      return deliveryCount === 1 ? nak(600) : ack;
    });
    await publishGenerationRequested(ns.js, ns.names, job("retry-1"));
    await waitFor("acked after a retry", async () => ((await pending()) === 0 ? true : undefined));
    expect(deliveries.map((d) => d.count)).toEqual([1, 2]);
    const [first, second] = deliveries;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(550);
  });

  it("retries a handler that throws", async () => {
    let calls = 0;
    await consume(async () => {
      calls++;
      if (calls === 1) throw new Error("database hiccup");
      return ack;
    });
    await publishGenerationRequested(ns.js, ns.names, job("throws-1"));
    await waitFor("acked after a throw", async () => ((await pending()) === 0 ? true : undefined));
    expect(calls).toBe(2);
  });

  it("dead-letters and terms a poison message without calling the handler", async () => {
    const settled: SettledKind[] = [];
    let calls = 0;
    await consume(
      async () => {
        calls++;
        return ack;
      },
      { onSettled: (kind) => settled.push(kind) },
    );
    const garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]);
    await publishRaw(ns.js, {
      subject: ns.names.subjects.generationRequested,
      data: garbage,
      msgId: "poison-1",
      stream: ns.names.streams.jobs,
    });
    const [letter] = await waitFor("a dead letter", async () => {
      const records = await deadLetters();
      return records.length > 0 ? records : undefined;
    });
    expect(letter?.subject).toBe(`${ns.names.namespace}.deadletter.jobs.generation.requested`);
    expect(letter?.record).toMatchObject({
      stream: ns.names.streams.jobs,
      consumer: ns.names.durables.worker,
      subject: "jobs.generation.requested",
      reasonCode: "undecodable",
      deliveries: 1,
      app: "events-test",
    });
    expect(letter?.record.payload).toEqual(garbage);
    // term() removed it from the work queue and it never comes back.
    await waitFor("poison removed", async () => ((await pending()) === 0 ? true : undefined));
    await sleep(1_500);
    expect(calls).toBe(0);
    expect(settled).toEqual(["undecodable"]);
    expect(await deadLetters()).toHaveLength(1);
  });

  it("dead-letters what the handler refuses for good", async () => {
    await consume(async ({ message }) => (message.holdId === "" ? deadLetter("invalid", "no hold_id") : ack));
    await publishGenerationRequested(
      ns.js,
      ns.names,
      create(GenerationRequestedSchema, { jobId: "no-hold" }),
    );
    const [letter] = await waitFor("a dead letter", async () => {
      const records = await deadLetters();
      return records.length > 0 ? records : undefined;
    });
    expect(letter?.record).toMatchObject({ reasonCode: "invalid", reasonMessage: "no hold_id" });
    expect(fromBinary(GenerationRequestedSchema, letter?.record.payload ?? new Uint8Array()).jobId).toBe(
      "no-hold",
    );
    await waitFor("refused job removed", async () => ((await pending()) === 0 ? true : undefined));
  });

  it("respects max_deliver: the last delivery is flagged, and still failing it is dead-lettered", async () => {
    const deliveries: { count: number; last: boolean }[] = [];
    await consume(
      async ({ deliveryCount, isLastDelivery }) => {
        deliveries.push({ count: deliveryCount, last: isLastDelivery });
        return nak(50);
      },
      { bounds: { maxDeliver: 3 } },
    );
    await publishGenerationRequested(ns.js, ns.names, job("always-fails"));
    const [letter] = await waitFor("a dead letter", async () => {
      const records = await deadLetters();
      return records.length > 0 ? records : undefined;
    });
    expect(letter?.record).toMatchObject({ reasonCode: "max_deliver", deliveries: 3 });
    await sleep(800);
    expect(deliveries).toEqual([
      { count: 1, last: false },
      { count: 2, last: false },
      { count: 3, last: true },
    ]);
    expect(await pending()).toBe(0);
  });

  it("never runs more handlers at once than its concurrency, and two instances share the queue", async () => {
    let active = 0;
    let peak = 0;
    const handledBy = new Map<string, number>();
    const handler =
      (instance: number) =>
      async ({ message }: Delivery<Job>) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(300);
        active--;
        handledBy.set(message.jobId, instance);
        return ack;
      };
    await consume(handler(1), { concurrency: 3 });
    await consume(handler(2), { concurrency: 2 });
    for (let i = 0; i < 20; i++) await publishGenerationRequested(ns.js, ns.names, job(`c${i}`));
    await waitFor("all handled", () => (handledBy.size === 20 ? true : undefined), 20_000);
    expect(peak).toBeLessThanOrEqual(5);
    expect(peak).toBeGreaterThanOrEqual(3);
    expect(new Set(handledBy.values())).toEqual(new Set([1, 2]));
    await waitFor("queue empty", async () => ((await pending()) === 0 ? true : undefined));
  });

  it("keeps a handler longer than ack_wait alive with working() heartbeats: no redelivery", async () => {
    const deliveries: number[] = [];
    await consume(
      async ({ deliveryCount }) => {
        deliveries.push(deliveryCount);
        await sleep(3_000);
        return ack;
      },
      { bounds: { ackWaitMs: 1_000 } },
    );
    await publishGenerationRequested(ns.js, ns.names, job("long-1"));
    await waitFor("long job acked", async () => ((await pending()) === 0 ? true : undefined), 10_000);
    await sleep(1_200);
    expect(deliveries).toEqual([1]);
  });

  it("stops gracefully: the in-flight handler finishes and is acked, nothing more is taken", async () => {
    const finished: string[] = [];
    const consumer = await consume(
      async ({ message }) => {
        await sleep(700);
        finished.push(message.jobId);
        return ack;
      },
      { concurrency: 1 },
    );
    await publishGenerationRequested(ns.js, ns.names, job("in-flight"));
    await waitFor("a job in hand", () => (consumer.inFlight === 1 ? true : undefined));
    await consumer.stop();
    expect(finished).toEqual(["in-flight"]);
    expect(consumer.inFlight).toBe(0);
    await publishGenerationRequested(ns.js, ns.names, job("after-stop"));
    await sleep(500);
    expect(finished).toEqual(["in-flight"]);
    expect(await pending()).toBe(1);
  });
});
