// apps/bot: the Telegram gateway. How it reaches Telegram (long polling or a webhook with a secret),
// billing (its own token, scope "bot") and NATS, and the bounds of everything it keeps in memory or
// queues: conversation state, photos, prompts, the send queue and its retries.
import { z } from "zod";
import {
  httpUrl,
  logLevel,
  natsNamespace,
  natsStreamReplicas,
  natsUrl,
  port,
  positiveInt,
  telegramToken,
  token,
} from "./fields.js";
import { ianaTimeZone } from "./quotas.js";

export const BOT_MODES = ["polling", "webhook"] as const;
export type BotMode = (typeof BOT_MODES)[number];

export const BOT_LOCALES = ["ru", "en"] as const;
export type BotLocale = (typeof BOT_LOCALES)[number];

const MIB = 1024 * 1024;
/** Telegram's getFile limit: bots cannot download larger files. */
export const TELEGRAM_MAX_DOWNLOAD_BYTES = 20 * MIB;

/** Telegram's rule for secret_token: 1-256 of A-Z, a-z, 0-9, _ and -; we want it unguessable too. */
const webhookSecret = z
  .string()
  .min(16, "must be at least 16 characters")
  .max(256, "must be at most 256 characters")
  .regex(/^[A-Za-z0-9_-]+$/, "may contain only A-Z, a-z, 0-9, _ and -")
  .optional();

/** The public host (and port) Telegram posts to; telegraf always registers https://<domain><path>. */
const webhookDomain = z
  .string()
  .regex(/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/, "must be a host name such as bot.example.com (no scheme)")
  .optional();

const webhookPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~/-]{0,200}$/, "must be a path starting with / (e.g. /telegram/webhook)")
  .default("/telegram/webhook");

const nonNegativeInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(0).max(max).default(fallback);

export const botEnvSchema = z
  .object({
    TELEGRAM_BOT_TOKEN: telegramToken,
    TELEGRAM_API_ROOT: httpUrl.default("https://api.telegram.org"),
    BOT_MODE: z.enum(BOT_MODES, { error: `must be one of ${BOT_MODES.join(", ")}` }).default("polling"),
    BOT_WEBHOOK_DOMAIN: webhookDomain,
    BOT_WEBHOOK_PATH: webhookPath,
    BOT_WEBHOOK_SECRET: webhookSecret,
    BOT_WEBHOOK_HOST: z.string().default("0.0.0.0"),
    BOT_WEBHOOK_PORT: port(8443),
    BOT_WEBHOOK_MAX_BODY_BYTES: positiveInt(1 * MIB, 16 * MIB),
    BILLING_URL: httpUrl,
    BILLING_TOKEN: token,
    BOT_BILLING_TIMEOUT_MS: positiveInt(10_000, 120_000),
    NATS_URL: natsUrl,
    NATS_NAMESPACE: natsNamespace,
    NATS_STREAM_REPLICAS: natsStreamReplicas,
    BOT_OPS_HOST: z.string().default("0.0.0.0"),
    BOT_OPS_PORT: port(9466),
    BOT_DEFAULT_LOCALE: z
      .enum(BOT_LOCALES, { error: `must be one of ${BOT_LOCALES.join(", ")}` })
      .default("ru"),
    BOT_TIME_ZONE: ianaTimeZone("Europe/Moscow"),
    BOT_PAYMENT_RETURN_URL: httpUrl.optional(),
    BOT_MAX_PHOTO_BYTES: positiveInt(10 * MIB, TELEGRAM_MAX_DOWNLOAD_BYTES),
    // The worker refuses prompts over 2000 characters and overlay texts over 200; the bot says so
    // first, in the user's language, before anything is reserved.
    BOT_PROMPT_MAX_CHARS: positiveInt(1_000, 2_000),
    BOT_OVERLAY_TEXT_MAX_CHARS: positiveInt(200, 200),
    BOT_HOLD_TIMEOUT_MS: positiveInt(15 * 60_000, 24 * 60 * 60_000).refine(
      (ms) => ms >= 1_000,
      "must be at least 1000",
    ),
    BOT_STATE_TTL_MS: positiveInt(30 * 60_000, 24 * 60 * 60_000),
    BOT_STATE_MAX_USERS: positiveInt(10_000, 1_000_000),
    BOT_ALBUM_SETTLE_MS: nonNegativeInt(800, 10_000),
    BOT_SEND_CHAT_INTERVAL_MS: nonNegativeInt(1_000, 60_000),
    BOT_SEND_CHAT_BURST: positiveInt(1, 30),
    BOT_SEND_GLOBAL_PER_S: positiveInt(30, 1_000),
    BOT_SEND_QUEUE_MAX: positiveInt(10_000, 1_000_000),
    BOT_SEND_MAX_ATTEMPTS: positiveInt(5, 20),
    BOT_SEND_MAX_WAIT_MS: positiveInt(10 * 60_000, 60 * 60_000),
    BOT_CONSUMER_CONCURRENCY: positiveInt(16, 256),
    BOT_SHUTDOWN_GRACE_MS: positiveInt(10_000, 120_000),
    LOG_LEVEL: logLevel,
  })
  .refine((env) => env.BOT_MODE !== "webhook" || env.BOT_WEBHOOK_DOMAIN !== undefined, {
    message: "is required when BOT_MODE=webhook",
    path: ["BOT_WEBHOOK_DOMAIN"],
  })
  .refine((env) => env.BOT_MODE !== "webhook" || env.BOT_WEBHOOK_SECRET !== undefined, {
    message: "is required when BOT_MODE=webhook (Telegram sends it back in every request)",
    path: ["BOT_WEBHOOK_SECRET"],
  })
  .transform((env) => ({
    telegram: {
      token: env.TELEGRAM_BOT_TOKEN,
      apiRoot: env.TELEGRAM_API_ROOT,
    },
    mode: env.BOT_MODE,
    webhook:
      env.BOT_MODE === "webhook" &&
      env.BOT_WEBHOOK_DOMAIN !== undefined &&
      env.BOT_WEBHOOK_SECRET !== undefined
        ? {
            domain: env.BOT_WEBHOOK_DOMAIN,
            path: env.BOT_WEBHOOK_PATH,
            secret: env.BOT_WEBHOOK_SECRET,
            host: env.BOT_WEBHOOK_HOST,
            port: env.BOT_WEBHOOK_PORT,
            maxBodyBytes: env.BOT_WEBHOOK_MAX_BODY_BYTES,
          }
        : undefined,
    billingUrl: env.BILLING_URL,
    billingToken: env.BILLING_TOKEN,
    billingTimeoutMs: env.BOT_BILLING_TIMEOUT_MS,
    natsUrl: env.NATS_URL,
    natsNamespace: env.NATS_NAMESPACE,
    natsStreamReplicas: env.NATS_STREAM_REPLICAS,
    opsHost: env.BOT_OPS_HOST,
    opsPort: env.BOT_OPS_PORT,
    defaultLocale: env.BOT_DEFAULT_LOCALE,
    timeZone: env.BOT_TIME_ZONE,
    paymentReturnUrl: env.BOT_PAYMENT_RETURN_URL,
    limits: {
      maxPhotoBytes: env.BOT_MAX_PHOTO_BYTES,
      promptMaxChars: env.BOT_PROMPT_MAX_CHARS,
      overlayTextMaxChars: env.BOT_OVERLAY_TEXT_MAX_CHARS,
      holdTimeoutMs: env.BOT_HOLD_TIMEOUT_MS,
      stateTtlMs: env.BOT_STATE_TTL_MS,
      stateMaxUsers: env.BOT_STATE_MAX_USERS,
      albumSettleMs: env.BOT_ALBUM_SETTLE_MS,
      consumerConcurrency: env.BOT_CONSUMER_CONCURRENCY,
      shutdownGraceMs: env.BOT_SHUTDOWN_GRACE_MS,
    },
    send: {
      chatIntervalMs: env.BOT_SEND_CHAT_INTERVAL_MS,
      chatBurst: env.BOT_SEND_CHAT_BURST,
      globalPerSecond: env.BOT_SEND_GLOBAL_PER_S,
      queueMax: env.BOT_SEND_QUEUE_MAX,
      maxAttempts: env.BOT_SEND_MAX_ATTEMPTS,
      maxWaitMs: env.BOT_SEND_MAX_WAIT_MS,
    },
    logLevel: env.LOG_LEVEL,
  }));

export type BotConfig = z.output<typeof botEnvSchema>;
