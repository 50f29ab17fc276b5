// Field parsers shared by the app schemas: one definition of each variable's format.
import { z } from "zod";

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

export const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const logLevel = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .default("info");

export const postgresUrl = z
  .string({ error: "is required (e.g. postgres://postgres@127.0.0.1:5432/billing)" })
  .refine((value) => /^postgres(ql)?:\/\/[^/]+\/[A-Za-z0-9_-]+(\?.*)?$/.test(value), {
    message: "must be postgres://user[:password]@host[:port]/database with a database name",
  });

export const natsUrl = z
  .string()
  .default("nats://127.0.0.1:4222")
  .refine((value) => value.split(",").every((url) => /^(nats|tls|wss?):\/\/[^\s]+$/.test(url.trim())), {
    message: "must be one or more comma-separated nats://host:port URLs",
  });

/**
 * NATS_NAMESPACE: empty in production; a prefix of every stream, subject, bucket and durable name
 * otherwise (tests, side-by-side experiments). See natsNames() in @billing/events.
 */
export const natsNamespace = z
  .string()
  .regex(/^[a-z0-9_]{1,40}$/, "must be empty or 1-40 characters of a-z, 0-9 and _")
  .default("");

/** NATS_STREAM_REPLICAS: replicas of the streams and buckets the apps create (3 on the production cluster). */
export const natsStreamReplicas = z.coerce.number().int().min(1).max(5).default(1);

export const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

/** Callers' own bearer token: long enough to be unguessable. */
export const token = z
  .string({ error: "is required" })
  .min(16, "must be at least 16 characters")
  .max(512, "must be at most 512 characters")
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

export const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
    .default(fallback ? "true" : "false")
    .transform((value) => value === "true" || value === "1" || value === "yes");

/** Integer money or counts given in configuration, as bigint (never a float). */
export const bigintValue = (fallback: bigint) =>
  z
    .string()
    .regex(/^\d{1,15}$/, "must be a non-negative integer")
    .default(fallback.toString())
    .transform((value) => BigInt(value));

/** "<bot id>:<secret>" as BotFather issues it. The value is never echoed in an error. */
export const telegramToken = z
  .string({ error: "is required (the token from @BotFather, e.g. 123456:ABC-DEF…)" })
  .regex(/^\d{1,20}:[A-Za-z0-9_-]{1,200}$/, "must look like <bot id>:<secret> (e.g. 123456:ABC-DEF…)");
