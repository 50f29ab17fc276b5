// Images travel through JetStream object stores, never inside event payloads: the bot puts a user's
// photos in job-inputs, the worker puts each result in job-results under the job id. Events carry an
// ImageRef (bucket, name, type, size, SHA-256) that the reader checks the bytes against.
import { hash, randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { JetStreamClient } from "@nats-io/jetstream";
import { type ImageRef, ImageRefSchema } from "@billing/proto/events/v1/jobs_pb";
import type { NatsConnection } from "@nats-io/nats-core";
import { headers, nanos } from "@nats-io/nats-core";
import { type ObjectStore, Objm, StorageType } from "@nats-io/obj";
import type { BucketKey, NatsNames } from "./names.js";

export interface BucketLimits {
  /** Objects older than this are removed. */
  ttlMs: number;
  maxBytes: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const MIB = 1024 * 1024;

export const DEFAULT_BUCKET_LIMITS: Readonly<Record<BucketKey, BucketLimits>> = {
  // Inputs are needed until the job ends: at most the longest hold (24 h) plus a margin.
  jobInputs: { ttlMs: 2 * DAY_MS, maxBytes: 2048 * MIB },
  // Results stay a week, so a user can ask for a result again and operators can look at it.
  jobResults: { ttlMs: 7 * DAY_MS, maxBytes: 4096 * MIB },
};

/** Largest image either side accepts (the provider layer's own input limit is the same). */
export const MAX_IMAGE_BYTES = 20 * MIB;

export interface BucketOptions {
  limits?: Partial<Record<BucketKey, Partial<BucketLimits>>>;
  replicas?: number;
}

export interface JobBuckets {
  readonly inputs: ObjectStore;
  readonly results: ObjectStore;
  readonly names: Readonly<Record<BucketKey, string>>;
}

/** The object store options of each bucket (also written to infra/nats/buckets.json). */
export function bucketConfigs(names: NatsNames, options: BucketOptions = {}) {
  const replicas = options.replicas ?? 1;
  return (Object.keys(DEFAULT_BUCKET_LIMITS) as BucketKey[]).map((key) => {
    const limits = { ...DEFAULT_BUCKET_LIMITS[key], ...options.limits?.[key] };
    return {
      key,
      bucket: names.buckets[key],
      options: {
        description:
          key === "jobInputs" ? "Photos users sent for their jobs" : "Generated images, one per job",
        storage: StorageType.File,
        replicas,
        ttl: nanos(limits.ttlMs),
        max_bytes: limits.maxBytes,
      },
    };
  });
}

/** Creates (or opens) both buckets of the namespace. */
export async function ensureBuckets(
  nc: NatsConnection,
  names: NatsNames,
  options: BucketOptions = {},
): Promise<JobBuckets> {
  const objm = new Objm(nc);
  const stores = new Map<BucketKey, ObjectStore>();
  for (const { key, bucket, options: bucketOptions } of bucketConfigs(names, options)) {
    stores.set(key, await objm.create(bucket, bucketOptions));
  }
  const inputs = stores.get("jobInputs");
  const results = stores.get("jobResults");
  if (inputs === undefined || results === undefined) throw new Error("object store buckets missing");
  return { inputs, results, names: names.buckets };
}

export function sha256Hex(bytes: Uint8Array): string {
  return hash("sha256", bytes, "hex");
}

/**
 * Stores an image under `name` (a job id for results) and returns its reference. Putting the same
 * name again replaces the object, so a redelivered job still leaves one result.
 */
export async function putImage(
  store: ObjectStore,
  bucket: string,
  name: string,
  bytes: Uint8Array,
  mimeType: string,
): Promise<ImageRef> {
  checkImageSize(bytes);
  const sha256 = sha256Hex(bytes);
  await store.putBlob({ name, description: mimeType, metadata: { "mime-type": mimeType, sha256 } }, bytes);
  return imageRef(bucket, name, mimeType, bytes.length, sha256);
}

function checkImageSize(bytes: Uint8Array): void {
  if (bytes.length === 0 || bytes.length > MAX_IMAGE_BYTES) {
    throw new Error(`an image must have 1..${MAX_IMAGE_BYTES} bytes, not ${bytes.length}`);
  }
}

function imageRef(bucket: string, name: string, mimeType: string, size: number, sha256: string): ImageRef {
  return create(ImageRefSchema, { bucket, objectName: name, mimeType, sizeBytes: BigInt(size), sha256 });
}

/** Chunk size of the object store's own client (ADR-20): objects written here read back the same. */
const CHUNK_BYTES = 128 * 1024;

/**
 * putImage for a name that holds no object (findImage said so), in two round trips instead of three:
 * every chunk at once, then the metadata — in the object store's own format (NATS ADR-20: chunks on
 * `$O.<bucket>.C.<nuid>`, metadata rolled up on `$O.<bucket>.M.<base64url name>`), so the store
 * reads it like any other object. It skips what putBlob does first: reading the name's current
 * metadata to purge the chunks being replaced, of which a fresh name has none. The metadata is
 * written only once every chunk is stored, so no reader ever sees an object with chunks missing.
 */
export async function putNewImage(
  js: JetStreamClient,
  bucket: string,
  name: string,
  bytes: Uint8Array,
  mimeType: string,
): Promise<ImageRef> {
  checkImageSize(bytes);
  const nuid = randomBytes(16).toString("hex");
  const stream = `OBJ_${bucket}`;
  const chunkSubject = `$O.${bucket}.C.${nuid}`;
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
    chunks.push(bytes.subarray(offset, offset + CHUNK_BYTES));
  }
  await Promise.all(
    chunks.map((chunk) => js.publish(chunkSubject, chunk, { expect: { streamName: stream } })),
  );
  const digest = hash("sha256", bytes, "buffer");
  const sha256 = digest.toString("hex");
  const info = {
    name,
    description: mimeType,
    options: { max_chunk_size: CHUNK_BYTES },
    metadata: { "mime-type": mimeType, sha256 },
    bucket,
    nuid,
    size: bytes.length,
    chunks: chunks.length,
    mtime: new Date().toISOString(),
    digest: `SHA-256=${base64UrlPadded(digest)}`,
    deleted: false,
  };
  const rollup = headers();
  rollup.set("Nats-Rollup", "sub");
  await js.publish(`$O.${bucket}.M.${base64UrlPadded(Buffer.from(name, "utf8"))}`, JSON.stringify(info), {
    headers: rollup,
    expect: { streamName: stream },
  });
  return imageRef(bucket, name, mimeType, bytes.length, sha256);
}

function base64UrlPadded(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** The reference of an object already stored by putImage, or undefined if there is none. */
export async function findImage(
  store: ObjectStore,
  bucket: string,
  name: string,
): Promise<ImageRef | undefined> {
  const info = await store.info(name);
  if (info === null || info.deleted) return undefined;
  const sha256 = info.metadata?.sha256;
  const mimeType = info.metadata?.["mime-type"];
  if (sha256 === undefined || mimeType === undefined) return undefined;
  return imageRef(bucket, name, mimeType, info.size, sha256);
}

export class ImageUnavailableError extends Error {
  override readonly name = "ImageUnavailableError";
}

/**
 * Reads the bytes an ImageRef points at and checks them against the reference (size and SHA-256
 * when given). Throws ImageUnavailableError when the object is absent, too large or does not match.
 */
export async function readImage(
  store: ObjectStore,
  ref: ImageRef,
  maxBytes = MAX_IMAGE_BYTES,
): Promise<Uint8Array> {
  const info = await store.info(ref.objectName);
  if (info === null || info.deleted)
    throw new ImageUnavailableError(`no object ${ref.bucket}/${ref.objectName}`);
  if (info.size > maxBytes)
    throw new ImageUnavailableError(`object ${ref.objectName} is larger than ${maxBytes} bytes`);
  const blob = await store.getBlob(ref.objectName);
  if (blob === null) throw new ImageUnavailableError(`no object ${ref.bucket}/${ref.objectName}`);
  // The client may hand back a Buffer; callers get a plain Uint8Array view of the same bytes.
  const bytes = new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
  if (ref.sizeBytes > 0n && BigInt(bytes.length) !== ref.sizeBytes) {
    throw new ImageUnavailableError(
      `object ${ref.objectName} has ${bytes.length} bytes, the reference says ${ref.sizeBytes}`,
    );
  }
  if (ref.sha256 !== "" && sha256Hex(bytes).toLowerCase() !== ref.sha256.toLowerCase()) {
    throw new ImageUnavailableError(`object ${ref.objectName} does not match the reference's SHA-256`);
  }
  return bytes;
}

/** Opens the bucket an ImageRef names, if it is one of the namespace's. */
export function bucketOf(buckets: JobBuckets, ref: ImageRef): ObjectStore | undefined {
  if (ref.bucket === buckets.names.jobInputs) return buckets.inputs;
  if (ref.bucket === buckets.names.jobResults) return buckets.results;
  return undefined;
}
