// Streams, typed publishing and object stores against the machine's real NATS server.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { nanos } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COMPACT_BUCKET_OPTIONS,
  COMPACT_STREAM_OPTIONS,
  differingFields,
  ensureBuckets,
  ensureConsumer,
  ensureStreams,
  findImage,
  ImageUnavailableError,
  publishBillingEventBytes,
  publishGenerationRequested,
  publishRaw,
  putImage,
  readImage,
  type JobBuckets,
  workerConsumer,
} from "../src/index.js";
import { openTestNamespace } from "./helpers.js";
import type { OwnNamespace } from "../src/index.js";

let ns: OwnNamespace;
let buckets: JobBuckets;

beforeAll(async () => {
  ns = await openTestNamespace("events_streams");
  buckets = await ensureBuckets(ns.nc, ns.names, COMPACT_BUCKET_OPTIONS);
});
afterAll(async () => {
  await ns.close();
});

describe("ensureStreams", () => {
  it("is idempotent: a second run changes nothing, a drifted stream is put back", async () => {
    const { jsm, names } = ns;
    expect(Object.values(await ensureStreams(jsm, names, COMPACT_STREAM_OPTIONS))).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
      "unchanged",
    ]);
    const jobs = await jsm.streams.info(names.streams.jobs);
    expect(jobs.config.retention).toBe("workqueue");
    expect(jobs.config.subjects).toEqual([names.subjects.generationRequested]);

    // An operator changed a limit by hand: start-up restores the configuration in code.
    const billing = (await jsm.streams.info(names.streams.billingEvents)).config;
    await jsm.streams.update(names.streams.billingEvents, { ...billing, max_age: nanos(3_600_000) });
    expect(await ensureStreams(jsm, names, COMPACT_STREAM_OPTIONS)).toMatchObject({
      [names.streams.billingEvents]: "updated",
    });
    expect((await jsm.streams.info(names.streams.billingEvents)).config.max_age).toBe(
      nanos(30 * 24 * 3600 * 1000),
    );
    expect(Object.values(await ensureStreams(jsm, names, COMPACT_STREAM_OPTIONS))).not.toContain("updated");
  });
});

describe("ensureConsumer", () => {
  it("creates the durable worker consumer, leaves it alone when equal, updates a changed bound in place", async () => {
    const { jsm, names } = ns;
    const created = await ensureConsumer(jsm, workerConsumer(names, { maxDeliver: 5, ackWaitMs: 30_000 }));
    expect(created.config).toMatchObject({
      durable_name: names.durables.worker,
      ack_policy: "explicit",
      filter_subject: names.subjects.generationRequested,
      max_deliver: 5,
      ack_wait: nanos(30_000),
    });
    const again = await ensureConsumer(jsm, workerConsumer(names, { maxDeliver: 5, ackWaitMs: 30_000 }));
    expect(again.created).toBe(created.created);
    // The server reports back every field set in code, so an unchanged consumer is never "updated".
    expect(
      differingFields(workerConsumer(names, { maxDeliver: 5, ackWaitMs: 30_000 }).config, again.config),
    ).toEqual([]);
    const updated = await ensureConsumer(jsm, workerConsumer(names, { maxDeliver: 3, ackWaitMs: 10_000 }));
    expect(updated.config).toMatchObject({ max_deliver: 3, ack_wait: nanos(10_000) });
    expect(updated.created).toBe(created.created);
    expect((await jsm.consumers.info(names.streams.jobs, names.durables.worker)).config.max_deliver).toBe(3);
    await jsm.consumers.delete(names.streams.jobs, names.durables.worker);
  });
});

describe("publishing", () => {
  it("stores a job once however often it is published (Nats-Msg-Id = job id)", async () => {
    const { js, jsm, names } = ns;
    const job = create(GenerationRequestedSchema, {
      jobId: "job-dup-1",
      userRef: "telegram:1",
      operation: "generate",
      holdId: "h1",
    });
    const first = await publishGenerationRequested(js, names, job);
    const second = await publishGenerationRequested(js, names, job);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const stored = await jsm.streams.getMessage(names.streams.jobs, { seq: first.seq });
    expect(stored?.header.get("Nats-Msg-Id")).toBe("job-dup-1");
    expect(fromBinary(GenerationRequestedSchema, stored?.data ?? new Uint8Array()).userRef).toBe(
      "telegram:1",
    );
    expect((await jsm.streams.info(names.streams.jobs)).state.messages).toBe(1);
  });

  it("publishes outbox bytes under the namespace into BILLING_EVENTS", async () => {
    const { js, jsm, names } = ns;
    const ack = await publishBillingEventBytes(js, names, {
      baseSubject: "billing.hold.expired",
      eventId: "0b4f6c1e-0000-4000-8000-000000000001",
      payload: new Uint8Array([1, 2, 3]),
    });
    expect(ack.stream).toBe(names.streams.billingEvents);
    const stored = await jsm.streams.getMessage(names.streams.billingEvents, { seq: ack.seq });
    expect(stored?.subject).toBe(`${names.namespace}.billing.hold.expired`);
  });

  it("fails (after bounded attempts) instead of publishing where no stream of the namespace listens", async () => {
    const { js, names } = ns;
    const started = Date.now();
    await expect(
      publishRaw(
        js,
        {
          subject: `${names.namespace}.nowhere`,
          data: new Uint8Array([1]),
          msgId: "x",
          stream: names.streams.jobs,
        },
        { maxAttempts: 2, timeoutMs: 500 },
      ),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("object store images", () => {
  it("round-trips an image checked by size and SHA-256; a second put under the same name replaces it", async () => {
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    const ref = await putImage(buckets.results, buckets.names.jobResults, "job-1", bytes, "image/png");
    expect(ref).toMatchObject({
      bucket: buckets.names.jobResults,
      objectName: "job-1",
      mimeType: "image/png",
      sizeBytes: 200_000n,
    });
    expect(ref.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await readImage(buckets.results, ref)).toEqual(bytes);
    expect(await findImage(buckets.results, buckets.names.jobResults, "job-1")).toEqual(ref);
    expect(await findImage(buckets.results, buckets.names.jobResults, "job-2")).toBeUndefined();

    const again = await putImage(buckets.results, buckets.names.jobResults, "job-1", bytes, "image/png");
    expect(again).toEqual(ref);
    expect((await buckets.results.list()).filter((o) => o.name === "job-1")).toHaveLength(1);
  });

  it("refuses bytes that do not match the reference, and a missing object", async () => {
    const ref = await putImage(
      buckets.inputs,
      buckets.names.jobInputs,
      "photo-1",
      new Uint8Array([1, 2, 3, 4]),
      "image/jpeg",
    );
    await expect(readImage(buckets.inputs, { ...ref, sha256: "00".repeat(32) })).rejects.toBeInstanceOf(
      ImageUnavailableError,
    );
    await expect(readImage(buckets.inputs, { ...ref, sizeBytes: 5n })).rejects.toBeInstanceOf(
      ImageUnavailableError,
    );
    await expect(readImage(buckets.inputs, { ...ref, objectName: "absent" })).rejects.toBeInstanceOf(
      ImageUnavailableError,
    );
    await expect(readImage(buckets.inputs, ref, 3)).rejects.toThrow(/larger than 3 bytes/);
    // An unset size and digest are not checked.
    expect(await readImage(buckets.inputs, { ...ref, sha256: "", sizeBytes: 0n })).toEqual(
      new Uint8Array([1, 2, 3, 4]),
    );
    expect(
      toBinary(GenerationRequestedSchema, create(GenerationRequestedSchema, { inputImages: [ref] })).length,
    ).toBeLessThan(300);
  });
});
