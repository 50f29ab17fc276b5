// apps/webhooks: the HTTP receiver of YooKassa notifications. Who may send (YooKassa's published
// ranges by default; our own proxies are trusted for X-Forwarded-For only when listed), how big a
// body may be, and how to reach billing (its own token, scope "webhooks") and the dead-letter stream.
import { z } from "zod";
import {
  bool,
  httpUrl,
  logLevel,
  natsNamespace,
  natsStreamReplicas,
  natsUrl,
  port,
  positiveInt,
  token,
} from "./fields.js";

/** The word that stands for YooKassa's official sender ranges (expanded by the app). */
export const YOOKASSA_SENDERS = "yookassa";

// Syntax only; the app parses each range exactly (host bits, prefix length) and refuses to start on
// a bad one with the same exit code as here.
const CIDR_SHAPE = /^[0-9A-Fa-f:.]{2,45}(\/\d{1,3})?$/;

const cidrList = (fallback: string, allowYooKassa: boolean) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx): string[] => {
      const entries = value
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "");
      for (const entry of entries) {
        if (allowYooKassa && entry === YOOKASSA_SENDERS) continue;
        if (!CIDR_SHAPE.test(entry)) {
          ctx.addIssue({
            code: "custom",
            message: `"${entry}" is not an address or CIDR range${allowYooKassa ? ` (or "${YOOKASSA_SENDERS}")` : ""}`,
          });
        }
      }
      if (entries.length > 100) ctx.addIssue({ code: "custom", message: "at most 100 ranges" });
      return entries;
    });

export const webhooksEnvSchema = z
  .object({
    WEBHOOKS_HOST: z.string().default("0.0.0.0"),
    /** The webhook and /healthz /readyz /metrics: the public ingress forwards only the webhook path. */
    WEBHOOKS_PORT: port(8082),
    WEBHOOKS_ALLOWED_SENDERS: cidrList(YOOKASSA_SENDERS, true),
    WEBHOOKS_TRUSTED_PROXIES: cidrList("", false),
    WEBHOOKS_MAX_BODY_BYTES: positiveInt(64 * 1024, 1024 * 1024),
    WEBHOOKS_BILLING_TIMEOUT_MS: positiveInt(10_000, 60_000),
    WEBHOOKS_SHUTDOWN_GRACE_MS: positiveInt(10_000, 120_000),
    WEBHOOKS_DEAD_LETTERS: bool(true),
    BILLING_URL: httpUrl,
    BILLING_TOKEN: token,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: natsNamespace,
    NATS_STREAM_REPLICAS: natsStreamReplicas,
    LOG_LEVEL: logLevel,
  })
  .refine((env) => env.WEBHOOKS_ALLOWED_SENDERS.length > 0, {
    message: `must name at least one range (default "${YOOKASSA_SENDERS}": YooKassa's published ranges)`,
    path: ["WEBHOOKS_ALLOWED_SENDERS"],
  })
  .transform((env) => ({
    host: env.WEBHOOKS_HOST,
    port: env.WEBHOOKS_PORT,
    allowedSenders: env.WEBHOOKS_ALLOWED_SENDERS,
    trustedProxies: env.WEBHOOKS_TRUSTED_PROXIES,
    maxBodyBytes: env.WEBHOOKS_MAX_BODY_BYTES,
    billingTimeoutMs: env.WEBHOOKS_BILLING_TIMEOUT_MS,
    shutdownGraceMs: env.WEBHOOKS_SHUTDOWN_GRACE_MS,
    deadLetters: env.WEBHOOKS_DEAD_LETTERS,
    billingUrl: env.BILLING_URL,
    billingToken: env.BILLING_TOKEN,
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    natsStreamReplicas: env.NATS_STREAM_REPLICAS,
    logLevel: env.LOG_LEVEL,
  }));

export type WebhooksConfig = z.output<typeof webhooksEnvSchema>;
