import { z } from "zod";
import { bigintValue, bool, logLevel, natsUrl, port, positiveInt, postgresUrl, token } from "./fields.js";
import { edgeLimitsOf, edgeLimitsShape, listenHost, optionalPort } from "./billing-edges.js";
import { natsNamespace, natsStreamReplicas } from "./fields.js";
import { ianaTimeZone, planCatalogue } from "./quotas.js";
import { checkPaymentsEnv, paymentsConfigOf, paymentsEnvShape } from "./payments.js";

export const SCOPES = ["admin", "bot", "worker", "webhooks", "service"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ScopedToken {
  readonly scope: Scope;
  readonly token: string;
}

/** BILLING_TOKENS: "scope:token,scope:token". A scope may have several tokens (rotation). */
const scopedTokens = z
  .string({ error: "is required: comma-separated scope:token pairs, e.g. admin:…,bot:…" })
  .transform((value, ctx): ScopedToken[] => {
    const pairs: ScopedToken[] = [];
    for (const [index, raw] of value.split(",").entries()) {
      const entry = raw.trim();
      const colon = entry.indexOf(":");
      const scope = colon > 0 ? entry.slice(0, colon) : "";
      const secret = colon > 0 ? entry.slice(colon + 1) : "";
      if (!(SCOPES as readonly string[]).includes(scope)) {
        ctx.addIssue({
          code: "custom",
          message: `entry ${index + 1}: scope must be one of ${SCOPES.join(", ")}`,
        });
        continue;
      }
      const parsed = token.safeParse(secret);
      if (!parsed.success) {
        ctx.addIssue({
          code: "custom",
          message: `entry ${index + 1} (${scope}): token ${parsed.error.issues[0]?.message ?? "is invalid"}`,
        });
        continue;
      }
      pairs.push({ scope: scope as Scope, token: parsed.data });
    }
    if (new Set(pairs.map((p) => p.token)).size !== pairs.length) {
      ctx.addIssue({ code: "custom", message: "the same token appears twice" });
    }
    return pairs;
  });

/** BILLING_PRICES: "operation:credits,…" — the price list is configuration, not code. */
const priceList = z
  .string()
  .default("generate:10,edit:10,merge:10,face_swap:10,retouch:10,upscale:10,add_text:0")
  .transform((value, ctx): Map<string, bigint> => {
    const prices = new Map<string, bigint>();
    for (const raw of value.split(",")) {
      const match = /^([a-z][a-z0-9_]{0,63}):(\d{1,9})$/.exec(raw.trim());
      if (!match?.[1] || match[2] === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `"${raw.trim()}" is not operation:credits (e.g. generate:10)`,
        });
        continue;
      }
      if (prices.has(match[1])) ctx.addIssue({ code: "custom", message: `${match[1]} is listed twice` });
      prices.set(match[1], BigInt(match[2]));
    }
    return prices;
  });

export const billingEnvSchema = z
  .object({
    DATABASE_URL: postgresUrl,
    BILLING_HOST: listenHost.default("0.0.0.0"),
    BILLING_PORT: port(50051),
    BILLING_HTTP1_PORT: optionalPort,
    BILLING_METRICS_HOST: listenHost.optional(),
    BILLING_METRICS_PORT: port(9464),
    ...edgeLimitsShape,
    BILLING_TOKENS: scopedTokens,
    BILLING_TLS_CERT: z.string().optional(),
    BILLING_TLS_KEY: z.string().optional(),
    BILLING_SHUTDOWN_GRACE_MS: positiveInt(10_000, 120_000),
    BILLING_DB_POOL_MAX: positiveInt(20, 200),
    BILLING_LEDGER_BATCHES_IN_FLIGHT: positiveInt(3, 64),
    BILLING_LEDGER_RESOLUTIONS_IN_FLIGHT: positiveInt(1, 64),
    BILLING_PRICES: priceList,
    BILLING_STARTER_FREE_OPERATIONS: bigintValue(4n),
    // The same bound as an admin's per-user threshold (SetLowBalanceThreshold).
    BILLING_LOW_BALANCE_THRESHOLD_CREDITS: bigintValue(20n).refine((credits) => credits <= 1_000_000_000n, {
      message: "must be at most 1000000000",
    }),
    BILLING_HOLD_SWEEP_INTERVAL_MS: positiveInt(1_000, 600_000),
    // Tests only: billing's clock becomes wall time plus the offset in ms this file holds.
    BILLING_UNSAFE_TEST_CLOCK_FILE: z.string().min(1).optional(),
    BILLING_PLANS: planCatalogue,
    BILLING_QUOTA_TIME_ZONE: ianaTimeZone("Europe/Moscow"),
    BILLING_CREATE_DATABASE: bool(true),
    NATS_URL: natsUrl,
    NATS_NAMESPACE: natsNamespace,
    NATS_STREAM_REPLICAS: natsStreamReplicas,
    BILLING_OUTBOX_ENABLED: bool(true),
    BILLING_OUTBOX_POLL_INTERVAL_MS: positiveInt(200, 60_000),
    BILLING_OUTBOX_BATCH_SIZE: positiveInt(100, 1_000),
    LOG_LEVEL: logLevel,
    ...paymentsEnvShape,
  })
  .superRefine(checkPaymentsEnv)
  .refine((env) => (env.BILLING_TLS_CERT === undefined) === (env.BILLING_TLS_KEY === undefined), {
    message: "set both BILLING_TLS_CERT and BILLING_TLS_KEY (file paths) or neither",
    path: ["BILLING_TLS_CERT"],
  })
  .transform((env) => ({
    databaseUrl: env.DATABASE_URL,
    createDatabase: env.BILLING_CREATE_DATABASE,
    host: env.BILLING_HOST,
    port: env.BILLING_PORT,
    http1Port: env.BILLING_HTTP1_PORT,
    // The metrics port follows BILLING_HOST unless told otherwise: a loopback-only billing keeps
    // its metrics loopback-only too.
    metricsHost: env.BILLING_METRICS_HOST ?? env.BILLING_HOST,
    metricsPort: env.BILLING_METRICS_PORT,
    limits: edgeLimitsOf(env),
    tokens: env.BILLING_TOKENS,
    tls:
      env.BILLING_TLS_CERT !== undefined && env.BILLING_TLS_KEY !== undefined
        ? { certPath: env.BILLING_TLS_CERT, keyPath: env.BILLING_TLS_KEY }
        : undefined,
    shutdownGraceMs: env.BILLING_SHUTDOWN_GRACE_MS,
    dbPoolMax: env.BILLING_DB_POOL_MAX,
    ledgerBatchesInFlight: env.BILLING_LEDGER_BATCHES_IN_FLIGHT,
    ledgerResolutionsInFlight: env.BILLING_LEDGER_RESOLUTIONS_IN_FLIGHT,
    prices: env.BILLING_PRICES,
    starterFreeOperations: env.BILLING_STARTER_FREE_OPERATIONS,
    lowBalanceThresholdCredits: env.BILLING_LOW_BALANCE_THRESHOLD_CREDITS,
    holdSweepIntervalMs: env.BILLING_HOLD_SWEEP_INTERVAL_MS,
    unsafeTestClockFile: env.BILLING_UNSAFE_TEST_CLOCK_FILE,
    plans: env.BILLING_PLANS,
    quotaTimeZone: env.BILLING_QUOTA_TIME_ZONE,
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    natsStreamReplicas: env.NATS_STREAM_REPLICAS,
    outboxEnabled: env.BILLING_OUTBOX_ENABLED,
    outboxPollIntervalMs: env.BILLING_OUTBOX_POLL_INTERVAL_MS,
    outboxBatchSize: env.BILLING_OUTBOX_BATCH_SIZE,
    logLevel: env.LOG_LEVEL,
    payments: paymentsConfigOf(env),
  }));

export type BillingConfig = z.output<typeof billingEnvSchema>;
