// Billing's Telegram Stars settings: the Stars packages, the stars → credits rate, the invoice texts,
// how long an invoice may be paid, and the bot token billing refunds with (refundStarPayment). Stars
// are on unless STARS_PACKAGES=off; refunds need TELEGRAM_BOT_TOKEN too.
import { z } from "zod";
import { httpUrl, positiveInt, telegramToken } from "./fields.js";

const MAX_PACKAGES = 10;
/** Telegram's ceiling for one Stars invoice. */
export const STARS_INVOICE_MAX = 10_000n;

export interface StarsRateConfig {
  readonly stars: bigint;
  readonly credits: bigint;
}

export interface TelegramRefundsConfig {
  /** Never logged or echoed: the same token as the bot's TELEGRAM_BOT_TOKEN. */
  readonly token: string;
  readonly apiRoot: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** A 429 asking to wait longer than this is not waited for: the refund is resumed later. */
  readonly retryAfterMaxMs: number;
}

export interface StarsConfig {
  /** Package sizes in stars, in the configured order; empty = Stars are off. */
  readonly packagesStars: readonly bigint[];
  readonly rate: StarsRateConfig;
  /** Invoice title and description; {stars} and {credits} are filled in. */
  readonly title: string;
  readonly description: string;
  /** A Stars payment not paid within this long is canceled (expired_on_invoice) by the sweep. */
  readonly invoiceTtlMs: number;
  /** Undefined: no bot token, Stars payments cannot be refunded from billing. */
  readonly telegram: TelegramRefundsConfig | undefined;
}

/** "50,150,250,500": whole stars, distinct, 1..10 000 each; "off" turns Stars off. */
const starsPackages = z
  .string()
  .default("50,150,250,500")
  .transform((value, ctx): bigint[] => {
    const amounts: bigint[] = [];
    // An empty variable counts as unset (the default); "off" says no Stars.
    if (value.trim() === "off") return amounts;
    for (const raw of value.split(",")) {
      const entry = raw.trim();
      if (!/^\d{1,5}$/.test(entry) || BigInt(entry) < 1n || BigInt(entry) > STARS_INVOICE_MAX) {
        ctx.addIssue({
          code: "custom",
          message: `"${entry}" is not a number of stars (1-${STARS_INVOICE_MAX})`,
        });
        continue;
      }
      if (amounts.includes(BigInt(entry)))
        ctx.addIssue({ code: "custom", message: `${entry} is listed twice` });
      amounts.push(BigInt(entry));
    }
    if (amounts.length > MAX_PACKAGES)
      ctx.addIssue({ code: "custom", message: `at most ${MAX_PACKAGES} packages` });
    return amounts;
  });

/** "50:100": 50 stars buy 100 credits. */
const starsRate = z
  .string()
  .default("50:100")
  .transform((value, ctx): StarsRateConfig => {
    const match = /^(\d{1,6}):(\d{1,9})$/.exec(value.trim());
    const stars = BigInt(match?.[1] ?? "0");
    const credits = BigInt(match?.[2] ?? "0");
    if (stars < 1n || credits < 1n) {
      ctx.addIssue({
        code: "custom",
        message: "must be <stars>:<credits> with both at least 1, e.g. 50:100",
      });
    }
    return { stars, credits };
  });

const text = (fallback: string, max: number) =>
  z.string().min(1).max(max, `must be at most ${max} characters`).default(fallback);

export const starsEnvShape = {
  STARS_PACKAGES: starsPackages,
  STARS_RATE: starsRate,
  // Telegram allows 32 characters of title and 255 of description after filling in.
  STARS_INVOICE_TITLE: text("{credits} кредитов", 24),
  STARS_INVOICE_DESCRIPTION: text("Пополнение баланса на {credits} кредитов за {stars} ⭐", 200),
  STARS_INVOICE_TTL_MS: positiveInt(86_400_000, 7 * 86_400_000),
  TELEGRAM_BOT_TOKEN: telegramToken.optional(),
  TELEGRAM_API_ROOT: httpUrl.default("https://api.telegram.org"),
  TELEGRAM_TIMEOUT_MS: positiveInt(10_000, 120_000),
  TELEGRAM_MAX_ATTEMPTS: positiveInt(4, 10),
  TELEGRAM_RETRY_AFTER_MAX_MS: positiveInt(30_000, 300_000),
};

type StarsEnv = z.output<z.ZodObject<typeof starsEnvShape>>;

/** Every package must buy a whole number of credits at the rate. */
export function checkStarsEnv(env: StarsEnv, ctx: z.RefinementCtx): void {
  const { stars, credits } = env.STARS_RATE;
  if (stars < 1n) return;
  for (const size of env.STARS_PACKAGES) {
    if ((size * credits) % stars !== 0n) {
      ctx.addIssue({
        code: "custom",
        message: `${size} stars do not buy a whole number of credits at ${stars}:${credits}`,
        path: ["STARS_PACKAGES"],
      });
    }
  }
}

export function starsConfigOf(env: StarsEnv): StarsConfig {
  return {
    packagesStars: env.STARS_PACKAGES,
    rate: env.STARS_RATE,
    title: env.STARS_INVOICE_TITLE,
    description: env.STARS_INVOICE_DESCRIPTION,
    invoiceTtlMs: env.STARS_INVOICE_TTL_MS,
    telegram:
      env.TELEGRAM_BOT_TOKEN === undefined
        ? undefined
        : {
            token: env.TELEGRAM_BOT_TOKEN,
            apiRoot: env.TELEGRAM_API_ROOT,
            timeoutMs: env.TELEGRAM_TIMEOUT_MS,
            maxAttempts: env.TELEGRAM_MAX_ATTEMPTS,
            retryAfterMaxMs: env.TELEGRAM_RETRY_AFTER_MAX_MS,
          },
  };
}
