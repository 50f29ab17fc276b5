// putNewImage writes an object in the object store's own format: the store's client reads it back
// (bytes, digest, metadata), findImage finds it, and deleting it works as for any other object.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  COMPACT_BUCKET_OPTIONS,
  ensureBuckets,
  findImage,
  type JobBuckets,
  putImage,
  putNewImage,
  readImage,
} from "../src/index.js";
import { openTestNamespace } from "./helpers.js";
import type { OwnNamespace } from "../src/index.js";

let ns: OwnNamespace;
let buckets: JobBuckets;

beforeAll(async () => {
  ns = await openTestNamespace("put_new_image");
  buckets = await ensureBuckets(ns.nc, ns.names, COMPACT_BUCKET_OPTIONS);
});
afterAll(async () => {
  await ns?.close();
});

describe("putNewImage", () => {
  it("stores an object the store's client reads like one it wrote itself, in one chunk or several", async () => {
    for (const [name, size] of [
      ["job-small", 1_000],
      ["job-large", 300_000],
    ] as const) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 251);
      const ref = await putNewImage(ns.js, buckets.names.jobResults, name, bytes, "image/png");
      const reference = await putImage(
        buckets.results,
        buckets.names.jobResults,
        `${name}-lib`,
        bytes,
        "image/png",
      );
      expect(ref).toEqual({ ...reference, objectName: name });
      // The client checks size and digest while reading the chunks.
      expect(await readImage(buckets.results, ref)).toEqual(bytes);
      expect(await findImage(buckets.results, buckets.names.jobResults, name)).toEqual(ref);
      const info = await buckets.results.info(name);
      expect(info).toMatchObject({ name, size, chunks: size > 131_072 ? 3 : 1, deleted: false });
      expect(info?.digest).toBe((await buckets.results.info(`${name}-lib`))?.digest);
    }
    const listed = (await buckets.results.list()).filter((o) => o.name === "job-small" && !o.deleted);
    expect(listed).toHaveLength(1);

    await buckets.results.delete("job-small");
    expect(await findImage(buckets.results, buckets.names.jobResults, "job-small")).toBeUndefined();
  });

  it("refuses an empty or oversized image without writing anything", async () => {
    await expect(
      putNewImage(ns.js, buckets.names.jobResults, "job-empty", new Uint8Array(0), "image/png"),
    ).rejects.toThrow(/1\.\.\d+ bytes/);
    expect(await findImage(buckets.results, buckets.names.jobResults, "job-empty")).toBeUndefined();
  });
});
