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

export const WORKER_PROVIDERS = ["local", "fal", "gemini"] as const;

/** The image provider the worker runs, in the shape of the worker's createProvider(). */
export type WorkerProviderConfig =
  | { name: "local"; local: { delayMs: number; zeroWork: boolean } }
  | { name: "fal"; fal: { apiKey: string; baseUrl?: string } }
  | { name: "gemini"; gemini: { apiKey: string; baseUrl?: string; model?: string } };

/**
 * WORKER_EXPECTED_JOB_MS_BY_OPERATION: "upscale=60000,merge=45000" — operations whose jobs take
 * longer (or shorter) than WORKER_EXPECTED_JOB_MS.
 */
const expectedByOperation = z
  .string()
  .default("")
  .refine(
    (value) =>
      value.trim() === "" ||
      value.split(",").every((pair) => /^\s*[a-z][a-z0-9_]{0,63}=\d{1,7}\s*$/.test(pair)),
    "must be comma-separated operation=milliseconds pairs, e.g. upscale=60000,merge=45000",
  )
  .transform(
    (value): ReadonlyMap<string, number> =>
      new Map(
        value
          .split(",")
          .filter((pair) => pair.trim() !== "")
          .map((pair) => {
            const [operation = "", ms = "0"] = pair.trim().split("=");
            return [operation, Number(ms)];
          }),
      ),
  );

const secret = z.string().min(8, "must be at least 8 characters").max(512).optional();
const nonNegativeInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(0).max(max).default(fallback);

export const workerEnvSchema = z
  .object({
    NATS_URL: natsUrl,
    NATS_NAMESPACE: natsNamespace,
    NATS_STREAM_REPLICAS: natsStreamReplicas,
    BILLING_URL: httpUrl,
    BILLING_TOKEN: token,
    WORKER_CONCURRENCY: positiveInt(4, 64),
    WORKER_JOB_TIMEOUT_MS: positiveInt(120_000, 3_600_000).refine(
      (ms) => ms >= 1_000,
      "must be at least 1000",
    ),
    WORKER_MAX_DELIVER: positiveInt(5, 20),
    WORKER_ACK_WAIT_MS: positiveInt(30_000, 600_000).refine((ms) => ms >= 1_000, "must be at least 1000"),
    // A job whose hold expires sooner than this is not started: its hold is released instead.
    WORKER_EXPECTED_JOB_MS: nonNegativeInt(30_000, 3_600_000),
    WORKER_EXPECTED_JOB_MS_BY_OPERATION: expectedByOperation,
    WORKER_PROVIDER: z
      .enum(WORKER_PROVIDERS, { error: `must be one of ${WORKER_PROVIDERS.join(", ")}` })
      .default("local"),
    WORKER_LOCAL_DELAY_MS: nonNegativeInt(0, 600_000),
    WORKER_LOCAL_ZERO_WORK: bool(false),
    FAL_KEY: secret,
    FAL_BASE_URL: httpUrl.optional(),
    GEMINI_API_KEY: secret,
    GEMINI_BASE_URL: httpUrl.optional(),
    GEMINI_MODEL: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, "must be a model id")
      .optional(),
    WORKER_OPS_HOST: z.string().default("0.0.0.0"),
    WORKER_OPS_PORT: port(9465),
    WORKER_SHUTDOWN_GRACE_MS: positiveInt(30_000, 600_000),
    LOG_LEVEL: logLevel,
  })
  .refine((env) => env.WORKER_PROVIDER !== "fal" || env.FAL_KEY !== undefined, {
    message: "is required when WORKER_PROVIDER=fal",
    path: ["FAL_KEY"],
  })
  .refine((env) => env.WORKER_PROVIDER !== "gemini" || env.GEMINI_API_KEY !== undefined, {
    message: "is required when WORKER_PROVIDER=gemini",
    path: ["GEMINI_API_KEY"],
  })
  .transform((env) => ({
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    natsStreamReplicas: env.NATS_STREAM_REPLICAS,
    billingUrl: env.BILLING_URL,
    billingToken: env.BILLING_TOKEN,
    concurrency: env.WORKER_CONCURRENCY,
    jobTimeoutMs: env.WORKER_JOB_TIMEOUT_MS,
    maxDeliver: env.WORKER_MAX_DELIVER,
    ackWaitMs: env.WORKER_ACK_WAIT_MS,
    expectedJobMs: {
      default: env.WORKER_EXPECTED_JOB_MS,
      byOperation: env.WORKER_EXPECTED_JOB_MS_BY_OPERATION,
    },
    provider: providerOf(env),
    opsHost: env.WORKER_OPS_HOST,
    opsPort: env.WORKER_OPS_PORT,
    shutdownGraceMs: env.WORKER_SHUTDOWN_GRACE_MS,
    logLevel: env.LOG_LEVEL,
  }));

function providerOf(env: {
  WORKER_PROVIDER: (typeof WORKER_PROVIDERS)[number];
  WORKER_LOCAL_DELAY_MS: number;
  WORKER_LOCAL_ZERO_WORK: boolean;
  FAL_KEY?: string | undefined;
  FAL_BASE_URL?: string | undefined;
  GEMINI_API_KEY?: string | undefined;
  GEMINI_BASE_URL?: string | undefined;
  GEMINI_MODEL?: string | undefined;
}): WorkerProviderConfig {
  switch (env.WORKER_PROVIDER) {
    case "local":
      return {
        name: "local",
        local: { delayMs: env.WORKER_LOCAL_DELAY_MS, zeroWork: env.WORKER_LOCAL_ZERO_WORK },
      };
    case "fal":
      return {
        name: "fal",
        fal: {
          apiKey: env.FAL_KEY ?? "",
          ...(env.FAL_BASE_URL === undefined ? {} : { baseUrl: env.FAL_BASE_URL }),
        },
      };
    case "gemini":
      return {
        name: "gemini",
        gemini: {
          apiKey: env.GEMINI_API_KEY ?? "",
          ...(env.GEMINI_BASE_URL === undefined ? {} : { baseUrl: env.GEMINI_BASE_URL }),
          ...(env.GEMINI_MODEL === undefined ? {} : { model: env.GEMINI_MODEL }),
        },
      };
  }
}

export type WorkerConfig = z.output<typeof workerEnvSchema>;
