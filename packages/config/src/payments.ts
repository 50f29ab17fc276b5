// Billing's payment settings: the YooKassa shop, the top-up catalogue (packages and the bounds of a
// custom amount, in whole rubles), 54-FZ receipts, and the sweep that re-reads unsettled payments.
// Without YOOKASSA_SHOP_ID/YOOKASSA_SECRET_KEY billing still starts: wallet-only deployments simply
// cannot create top-ups.
import { z } from "zod";
import { bool, httpUrl, positiveInt } from "./fields.js";
import { checkStarsEnv, type StarsConfig, starsConfigOf, starsEnvShape } from "./stars.js";

export const DEFAULT_YOOKASSA_API_URL = "https://api.yookassa.ru/v3/";
/** YooKassa may take 30 s to answer; a shorter client timeout turns slow successes into "unknown". */
const YOOKASSA_MIN_SAFE_TIMEOUT_MS = 30_000;
const MAX_PACKAGES = 20;
/** 10^9 RUB: far above any top-up, far below where bigint kopecks could surprise anyone. */
const MAX_RUB = 1_000_000_000n;

export interface YooKassaShopConfig {
  readonly shopId: string;
  /** Never logged: the logger redacts `secretKey`, and nothing prints this object. */
  readonly secretKey: string;
  readonly apiUrl: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
  /** Only for tests against the local fake: allows timeoutMs ≤ 30 s. */
  readonly unsafeShortTimeout: boolean;
}

export interface ReceiptConfig {
  /** 1–12 as YooKassa numbers VAT rates (1 = without VAT). */
  readonly vatCode: number;
  readonly paymentSubject: string;
  readonly paymentMode: string;
}

export interface PaymentsConfig {
  /** Undefined: no shop configured; CreateTopUp and the provider-facing RPCs are refused. */
  readonly yookassa: YooKassaShopConfig | undefined;
  /** Accept objects with `test: true` (a test shop). False for live shops unless set explicitly. */
  readonly allowTestPayments: boolean;
  readonly currency: "RUB";
  /** Package amounts in kopecks, in the configured order. */
  readonly packagesMinor: readonly bigint[];
  readonly customMinAmountMinor: bigint;
  readonly customMaxAmountMinor: bigint;
  readonly creditsPerRub: bigint;
  readonly returnUrl: string | undefined;
  /** Payment (and receipt item) description; {rub}, {credits} and {plan} are filled in. */
  readonly description: string;
  readonly planDescription: string;
  /** Undefined: the shop does not send 54-FZ receipts through YooKassa. */
  readonly receipts: ReceiptConfig | undefined;
  readonly sweepIntervalMs: number;
  /** A payment still CREATING/PENDING/WAITING_FOR_CAPTURE is re-read once it is this old (and again after as long). */
  readonly sweepAgeMs: number;
  /** Telegram Stars: packages, rate, invoice texts, refunds (stars.ts). */
  readonly stars: StarsConfig;
}

const rubles = (fallback: bigint) =>
  z
    .string()
    .regex(/^\d{1,10}$/, "must be a whole number of rubles")
    .default(fallback.toString())
    .transform((value) => BigInt(value))
    .refine((value) => value >= 1n && value <= MAX_RUB, `must be between 1 and ${MAX_RUB}`);

const optionalBool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
  .optional()
  .transform((value) =>
    value === undefined ? undefined : value === "true" || value === "1" || value === "yes",
  );

/** "100,300,500,1000": whole rubles, distinct, at most 20. */
const packageList = z
  .string()
  .default("100,300,500,1000")
  .transform((value, ctx): bigint[] => {
    const amounts: bigint[] = [];
    for (const raw of value.split(",")) {
      const entry = raw.trim();
      if (!/^\d{1,10}$/.test(entry) || BigInt(entry) < 1n || BigInt(entry) > MAX_RUB) {
        ctx.addIssue({ code: "custom", message: `"${entry}" is not a whole number of rubles (e.g. 100)` });
        continue;
      }
      const minor = BigInt(entry) * 100n;
      if (amounts.includes(minor)) ctx.addIssue({ code: "custom", message: `${entry} is listed twice` });
      amounts.push(minor);
    }
    if (amounts.length > MAX_PACKAGES) {
      ctx.addIssue({ code: "custom", message: `at most ${MAX_PACKAGES} packages` });
    }
    return amounts;
  });

const template = (fallback: string) =>
  z
    .string()
    .max(100, "must be at most 100 characters (YooKassa allows 128 after filling in)")
    .default(fallback);

const receiptWord = (fallback: string) =>
  z
    .string()
    .regex(/^[a-z_]{1,64}$/, "must be a YooKassa code such as service or full_prepayment")
    .default(fallback);

/** The variables, merged into billing's schema. */
export const paymentsEnvShape = {
  YOOKASSA_SHOP_ID: z
    .string()
    .regex(/^[0-9A-Za-z_-]{1,64}$/, "must be the shop id from the YooKassa dashboard (digits)")
    .optional(),
  YOOKASSA_SECRET_KEY: z
    .string()
    .min(8, "must be at least 8 characters")
    .max(512, "must be at most 512 characters")
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .optional(),
  YOOKASSA_API_URL: httpUrl.default(DEFAULT_YOOKASSA_API_URL),
  YOOKASSA_TIMEOUT_MS: positiveInt(35_000, 300_000),
  YOOKASSA_MAX_ATTEMPTS: positiveInt(5, 10),
  YOOKASSA_RETRY_DELAY_MS: positiveInt(1_000, 60_000),
  YOOKASSA_UNSAFE_SHORT_TIMEOUT: bool(false),
  YOOKASSA_ALLOW_TEST_PAYMENTS: optionalBool,
  PAYMENTS_PACKAGES_RUB: packageList,
  PAYMENTS_CUSTOM_MIN_RUB: rubles(10n),
  PAYMENTS_CUSTOM_MAX_RUB: rubles(50_000n),
  PAYMENTS_CREDITS_PER_RUB: rubles(1n),
  PAYMENTS_RETURN_URL: httpUrl.optional(),
  PAYMENTS_DESCRIPTION: template("Пополнение баланса на {rub} ₽"),
  PAYMENTS_PLAN_DESCRIPTION: template("Оплата тарифа {plan}"),
  PAYMENTS_RECEIPTS: bool(false),
  PAYMENTS_RECEIPT_VAT_CODE: z.coerce.number().int().min(1).max(12).default(1),
  PAYMENTS_RECEIPT_PAYMENT_SUBJECT: receiptWord("service"),
  PAYMENTS_RECEIPT_PAYMENT_MODE: receiptWord("full_prepayment"),
  PAYMENTS_SWEEP_INTERVAL_MS: positiveInt(30_000, 3_600_000),
  PAYMENTS_SWEEP_AGE_MS: positiveInt(300_000, 86_400_000),
  ...starsEnvShape,
};

type PaymentsEnv = z.output<z.ZodObject<typeof paymentsEnvShape>>;

/** Rules across variables; issues name the variable to fix. */
export function checkPaymentsEnv(env: PaymentsEnv, ctx: z.RefinementCtx): void {
  if ((env.YOOKASSA_SHOP_ID === undefined) !== (env.YOOKASSA_SECRET_KEY === undefined)) {
    ctx.addIssue({
      code: "custom",
      message: "set both YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY, or neither (payments disabled)",
      path: [env.YOOKASSA_SHOP_ID === undefined ? "YOOKASSA_SHOP_ID" : "YOOKASSA_SECRET_KEY"],
    });
  }
  if (env.YOOKASSA_TIMEOUT_MS <= YOOKASSA_MIN_SAFE_TIMEOUT_MS && !env.YOOKASSA_UNSAFE_SHORT_TIMEOUT) {
    ctx.addIssue({
      code: "custom",
      message: `must be above ${YOOKASSA_MIN_SAFE_TIMEOUT_MS} (YooKassa may take 30 s to answer); YOOKASSA_UNSAFE_SHORT_TIMEOUT=true is for tests against the local fake only`,
      path: ["YOOKASSA_TIMEOUT_MS"],
    });
  }
  if (env.PAYMENTS_CUSTOM_MIN_RUB > env.PAYMENTS_CUSTOM_MAX_RUB) {
    ctx.addIssue({
      code: "custom",
      message: "must not be above PAYMENTS_CUSTOM_MAX_RUB",
      path: ["PAYMENTS_CUSTOM_MIN_RUB"],
    });
  }
  checkStarsEnv(env, ctx);
}

export function paymentsConfigOf(env: PaymentsEnv): PaymentsConfig {
  const yookassa =
    env.YOOKASSA_SHOP_ID !== undefined && env.YOOKASSA_SECRET_KEY !== undefined
      ? {
          shopId: env.YOOKASSA_SHOP_ID,
          secretKey: env.YOOKASSA_SECRET_KEY,
          apiUrl: env.YOOKASSA_API_URL,
          timeoutMs: env.YOOKASSA_TIMEOUT_MS,
          maxAttempts: env.YOOKASSA_MAX_ATTEMPTS,
          retryDelayMs: env.YOOKASSA_RETRY_DELAY_MS,
          unsafeShortTimeout: env.YOOKASSA_UNSAFE_SHORT_TIMEOUT,
        }
      : undefined;
  return {
    yookassa,
    // A test shop's keys start with "test_" and all its objects say test: true; a live shop must
    // never credit a test object unless an operator says so explicitly.
    allowTestPayments:
      env.YOOKASSA_ALLOW_TEST_PAYMENTS ?? env.YOOKASSA_SECRET_KEY?.startsWith("test_") ?? false,
    currency: "RUB",
    packagesMinor: env.PAYMENTS_PACKAGES_RUB,
    customMinAmountMinor: env.PAYMENTS_CUSTOM_MIN_RUB * 100n,
    customMaxAmountMinor: env.PAYMENTS_CUSTOM_MAX_RUB * 100n,
    creditsPerRub: env.PAYMENTS_CREDITS_PER_RUB,
    returnUrl: env.PAYMENTS_RETURN_URL,
    description: env.PAYMENTS_DESCRIPTION,
    planDescription: env.PAYMENTS_PLAN_DESCRIPTION,
    receipts: env.PAYMENTS_RECEIPTS
      ? {
          vatCode: env.PAYMENTS_RECEIPT_VAT_CODE,
          paymentSubject: env.PAYMENTS_RECEIPT_PAYMENT_SUBJECT,
          paymentMode: env.PAYMENTS_RECEIPT_PAYMENT_MODE,
        }
      : undefined,
    sweepIntervalMs: env.PAYMENTS_SWEEP_INTERVAL_MS,
    sweepAgeMs: env.PAYMENTS_SWEEP_AGE_MS,
    stars: starsConfigOf(env),
  };
}
