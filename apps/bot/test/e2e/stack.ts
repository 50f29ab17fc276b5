// The whole system for the bot's end-to-end tests, once per test file: real billing (fresh database),
// the real worker with the local provider, the real webhooks app, the bot itself as a process, real
// PostgreSQL and NATS (a namespace of their own, deleted afterwards) — and fakes only for what lives
// outside: Telegram and YooKassa. Plus the view a test needs: play a user, read what the bot sent,
// read balances and statements from billing, read the object stores.
import { type BillingClient, createBillingClient } from "@billing/client";
import {
  bucketOf,
  COMPACT_BUCKET_OPTIONS,
  connectNats,
  deleteNamespace,
  ensureBuckets,
  type JobBuckets,
  type NatsConnection,
  natsNames,
  type NatsNames,
  readImage,
} from "@billing/events";
import type { ImageRef } from "@billing/proto/events/v1/jobs_pb";
import { rename, writeFile } from "node:fs/promises";
import {
  type AppProcess,
  type BillingProcess,
  type FakeTelegram,
  type FakeTelegramOptions,
  type FakeYooKassa,
  freePort,
  metricValue,
  NATS_URL,
  spawnApp,
  startBillingProcess,
  startFakeTelegram,
  startFakeYooKassa,
  type TgMessage,
  type TgUser,
  uniqueName,
  waitForHttpOk,
} from "@billing/testkit";

export const TOKEN = "7000001:bot-e2e-SECRET-token_abcdefghij";
const SHOP_ID = "100500";
const SECRET_KEY = "test_bot-e2e-yookassa-secret";
const LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? "warn";

export interface Stack {
  readonly telegram: FakeTelegram;
  readonly yookassa: FakeYooKassa;
  readonly billing: BillingProcess;
  readonly worker: AppProcess;
  readonly webhooks: AppProcess;
  readonly bot: AppProcess;
  /** http://127.0.0.1:<ops port> of the bot. */
  readonly botOps: string;
  /** http://127.0.0.1:<port> of the worker's ops server and of the webhooks app (their /metrics). */
  readonly workerOps: string;
  readonly webhooksOrigin: string;
  readonly names: NatsNames;
  readonly nc: NatsConnection;
  readonly buckets: JobBuckets;
  /** Billing as the bot sees it (balances, statements). */
  readonly client: BillingClient;
  readonly admin: BillingClient;
  /** The bot's environment, to start another one the same way. */
  readonly botEnv: Record<string, string>;
  /** http://127.0.0.1:<port> of the bot's webhook server (webhook mode). */
  readonly webhookOrigin: string | undefined;
  user(init: { id: number; language_code?: string; first_name?: string }): TestUser;
  /** A metric of the bot's /metrics (sum over label sets matching `labels`). */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number>;
  close(): Promise<void>;
}

export interface StackOptions {
  label: string;
  botEnv?: Record<string, string>;
  /** Run the bot in webhook mode (the fake delivers to it, with the secret). */
  webhook?: boolean;
  /** 54-FZ receipts on: billing and the YooKassa fake want a customer email. */
  receipts?: boolean;
  /** Options of the Telegram fake (e.g. Telegram's flood limits, a call observer). */
  telegram?: Omit<FakeTelegramOptions, "token">;
  /** Environment of the worker beyond the stack's own. */
  workerEnv?: Record<string, string>;
  /**
   * Billing's BILLING_UNSAFE_TEST_CLOCK_FILE: its clock (holds, promo lot expiry, sweeps) runs this
   * file's offset in milliseconds ahead of wall time (setClockOffset writes it). Unset: wall time.
   */
  billingClockFile?: string;
}

export const WEBHOOK_SECRET = "e2e_webhook_secret-0123456789";
export const WEBHOOK_PATH = "/telegram/hook";

export async function startStack(options: StackOptions): Promise<Stack> {
  const names = natsNames(uniqueName(options.label));
  const telegram = await startFakeTelegram({ ...options.telegram, token: TOKEN });
  const yookassa = await startFakeYooKassa({
    shopId: SHOP_ID,
    secretKey: SECRET_KEY,
    notificationRetryDelaysMs: [20, 40, 80],
    receiptsRequired: options.receipts === true,
  });
  const billing = await startBillingProcess({
    label: options.label,
    env: {
      NATS_NAMESPACE: names.namespace,
      YOOKASSA_SHOP_ID: SHOP_ID,
      YOOKASSA_SECRET_KEY: SECRET_KEY,
      YOOKASSA_API_URL: yookassa.url,
      YOOKASSA_TIMEOUT_MS: "3000",
      YOOKASSA_UNSAFE_SHORT_TIMEOUT: "true",
      YOOKASSA_RETRY_DELAY_MS: "20",
      PAYMENTS_RETURN_URL: "https://t.me/billing_test_bot",
      PAYMENTS_RECEIPTS: options.receipts === true ? "true" : "false",
      // startBillingProcess keeps the outbox relay off by default; the bot lives on its events.
      BILLING_OUTBOX_ENABLED: "true",
      // Stars refunds go to the Telegram fake (refundStarPayment with the bot's token).
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_RETRY_AFTER_MAX_MS: "2000",
      ...(options.billingClockFile === undefined
        ? {}
        : { BILLING_UNSAFE_TEST_CLOCK_FILE: options.billingClockFile }),
    },
  });
  const started: AppProcess[] = [];
  const spawnReady = async (
    name: "worker" | "webhooks" | "bot",
    env: Record<string, string>,
    readyUrl: string,
  ) => {
    const app = spawnApp(name, env);
    started.push(app);
    await waitForHttpOk(readyUrl, app, 30_000);
    return app;
  };
  try {
    const workerOps = await freePort();
    const worker = await spawnReady(
      "worker",
      {
        NATS_URL,
        NATS_NAMESPACE: names.namespace,
        BILLING_URL: billing.url,
        BILLING_TOKEN: billing.tokens.worker,
        WORKER_PROVIDER: "local",
        WORKER_OPS_HOST: "127.0.0.1",
        WORKER_OPS_PORT: String(workerOps),
        WORKER_ACK_WAIT_MS: "5000",
        LOG_LEVEL,
        ...options.workerEnv,
      },
      `http://127.0.0.1:${workerOps}/readyz`,
    );
    const webhooksPort = await freePort();
    const webhooks = await spawnReady(
      "webhooks",
      {
        NATS_URL,
        NATS_NAMESPACE: names.namespace,
        BILLING_URL: billing.url,
        BILLING_TOKEN: billing.tokens.webhooks,
        WEBHOOKS_HOST: "127.0.0.1",
        WEBHOOKS_PORT: String(webhooksPort),
        WEBHOOKS_ALLOWED_SENDERS: "127.0.0.1/32",
        LOG_LEVEL,
      },
      `http://127.0.0.1:${webhooksPort}/readyz`,
    );
    yookassa.setNotificationUrl(`http://127.0.0.1:${webhooksPort}/yookassa/webhook`);

    const botOpsPort = await freePort();
    let webhookOrigin: string | undefined;
    const webhookEnv: Record<string, string> = {};
    if (options.webhook === true) {
      const port = await freePort();
      webhookOrigin = `http://127.0.0.1:${port}`;
      // telegraf registers https://<domain><path>; the fake delivers to our plain-http origin instead.
      telegram.setWebhookOrigin(webhookOrigin);
      Object.assign(webhookEnv, {
        BOT_MODE: "webhook",
        BOT_WEBHOOK_DOMAIN: "bot.example.test",
        BOT_WEBHOOK_PATH: WEBHOOK_PATH,
        BOT_WEBHOOK_SECRET: WEBHOOK_SECRET,
        BOT_WEBHOOK_HOST: "127.0.0.1",
        BOT_WEBHOOK_PORT: String(port),
      });
    }
    const botEnv: Record<string, string> = {
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      BILLING_URL: billing.url,
      BILLING_TOKEN: billing.tokens.bot,
      NATS_URL,
      NATS_NAMESPACE: names.namespace,
      BOT_OPS_HOST: "127.0.0.1",
      BOT_OPS_PORT: String(botOpsPort),
      // Fast pacing for tests; the 429 handling is what is under test, not the default pace.
      BOT_SEND_CHAT_INTERVAL_MS: "20",
      BOT_SEND_CHAT_BURST: "3",
      BOT_ALBUM_SETTLE_MS: "300",
      BOT_SHUTDOWN_GRACE_MS: "5000",
      LOG_LEVEL,
      ...webhookEnv,
      ...options.botEnv,
    };
    const botOps = `http://127.0.0.1:${botOpsPort}`;
    const bot = await spawnReady("bot", botEnv, `${botOps}/readyz`);

    const nc = await connectNats({ servers: NATS_URL, name: `test-${options.label}` });
    const buckets = await ensureBuckets(nc, names, COMPACT_BUCKET_OPTIONS);
    const client = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
    const admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });

    return {
      telegram,
      yookassa,
      billing,
      worker,
      webhooks,
      bot,
      botOps,
      workerOps: `http://127.0.0.1:${workerOps}`,
      webhooksOrigin: `http://127.0.0.1:${webhooksPort}`,
      names,
      nc,
      buckets,
      client,
      admin,
      botEnv,
      webhookOrigin,
      user: (init) => new TestUser(telegram, { first_name: "Tester", language_code: "ru", ...init }),
      metric: (name, labels = {}) => metricValue(botOps, name, labels),
      async close() {
        client.close();
        admin.close();
        for (const app of started.reverse()) await app.stop(10_000);
        await deleteNamespace(nc, names).catch(() => undefined);
        await nc.close();
        await billing.close();
        await yookassa.close();
        await telegram.close();
      },
    };
  } catch (error) {
    for (const app of started) await app.kill();
    await billing.close();
    await yookassa.close();
    await telegram.close();
    throw error;
  }
}

/**
 * Sets billing's test clock (StackOptions.billingClockFile) `offsetMs` ahead of wall time. Written
 * aside and renamed into place, so that billing, re-reading the file every ~100 ms, never sees half
 * a number.
 */
export async function setClockOffset(file: string, offsetMs: number): Promise<void> {
  if (!Number.isSafeInteger(offsetMs)) throw new Error(`clock offset ${offsetMs} is not an integer`);
  const aside = `${file}.${process.pid}.tmp`;
  await writeFile(aside, String(offsetMs));
  await rename(aside, file);
}

/** Reads an ImageRef's bytes from the namespace's object stores. */
export async function storedBytes(stack: Stack, ref: ImageRef): Promise<Uint8Array> {
  const store = bucketOf(stack.buckets, ref);
  if (store === undefined) throw new Error(`bucket ${ref.bucket} is not the namespace's`);
  return readImage(store, ref);
}

/** A Telegram user played through the fake, with the bot's answers after each step. */
export class TestUser {
  readonly id: number;
  readonly init: TgUser | { id: number; first_name: string; language_code?: string };

  constructor(
    readonly telegram: FakeTelegram,
    init: { id: number; first_name: string; language_code?: string },
  ) {
    this.id = init.id;
    this.init = telegram.user(init);
  }

  /** The message id after which the bot's next answers come. */
  mark(): number {
    return this.telegram.chatMessages(this.id).reduce((max, m) => Math.max(max, m.messageId), 0);
  }

  send(text: string): TgMessage {
    return this.telegram.sendText(this.init, text);
  }

  sendPhoto(bytes: Uint8Array, caption?: string): TgMessage {
    return this.telegram.sendPhoto(this.init, bytes, caption === undefined ? {} : { caption });
  }

  /** The bot's messages to this user after `after` (a message id). */
  replies(after = 0): TgMessage[] {
    return this.telegram.sentMessages(this.id).filter((m) => m.message_id > after);
  }

  /** Waits for a bot message after `after` whose text or caption matches. */
  async reply(
    after: number,
    pattern: RegExp | ((m: TgMessage) => boolean),
    timeoutMs = 20_000,
  ): Promise<TgMessage> {
    const matches =
      typeof pattern === "function" ? pattern : (m: TgMessage) => pattern.test(m.text ?? m.caption ?? "");
    return this.telegram.waitFor(
      () => this.replies(after).find(matches),
      timeoutMs,
      `a reply to user ${this.id} matching ${String(pattern)}`,
    );
  }

  /** Taps the button whose label contains `label` on the newest bot message that has one. */
  press(label: string, opts: { on?: TgMessage } = {}): { message: TgMessage; data: string; queryId: string } {
    const candidates = opts.on === undefined ? this.telegram.sentMessages(this.id).reverse() : [opts.on];
    for (const message of candidates) {
      const button = (message.reply_markup?.inline_keyboard ?? [])
        .flat()
        .find((b) => "callback_data" in b && b.text.includes(label));
      if (button !== undefined && "callback_data" in button && typeof button.callback_data === "string") {
        const query = this.telegram.pressButton(this.init, message, button.callback_data);
        return { message, data: button.callback_data, queryId: query.id };
      }
    }
    throw new Error(`user ${this.id}: no button labelled "${label}"`);
  }

  /** Waits for "sending a photo…" (the chat action shown while a job runs) after call `afterSeq`. */
  async uploadingPhoto(afterSeq: number, timeoutMs = 20_000): Promise<void> {
    await this.telegram.waitForCall(
      "sendChatAction",
      (c) => c.params["action"] === "upload_photo" && Number(c.params["chat_id"]) === this.id,
      { afterSeq, timeoutMs },
    );
  }

  /** The URL button's link on a message. */
  static link(message: TgMessage): string | undefined {
    for (const button of (message.reply_markup?.inline_keyboard ?? []).flat()) {
      if ("url" in button && typeof button.url === "string") return button.url;
    }
    return undefined;
  }
}

/** A valid PNG whose compressed pixels are damaged: it looks like an image, no decoder can read it. */
export function damagedPng(png: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(png);
  const idat = Buffer.from(bytes).indexOf("IDAT");
  if (idat < 0) throw new Error("no IDAT chunk");
  for (let i = idat + 4 + 2; i < Math.min(bytes.length - 12, idat + 40); i++) bytes[i] = 0xff;
  return bytes;
}
