// How updates reach the bot: telegraf's long polling, or a webhook on our own HTTP server (bounded
// body, exact path, Telegram's secret header checked by telegraf: 403 otherwise). Either way each
// update is handed to `onUpdate`, which resolves as soon as the update is taken (not when it is
// handled), so polling fetches the next batch at once and a webhook request is answered at once.
// telegraf's own context helpers are not used (replies go through the send queue), so webhookReply
// is off and every call is a real, retried, counted API call.
// An update onUpdate rejects was not taken (a payment billing has not accepted, and the bot is
// stopping): it must not be acknowledged. Polling then never asks for the next batch (the offset
// that would confirm it is never sent); a webhook answers 503, so Telegram delivers it again (and a
// payment still waiting for billing holds its request: Telegram's timeout cuts it, same effect).
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Telegraf } from "telegraf";
import type { Update, UserFromGetMe } from "telegraf/types";
import type { Redactor } from "./redact.js";
import { describeError } from "./redact.js";

export const ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query"] as const;

export interface TransportLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface WebhookSettings {
  domain: string;
  path: string;
  secret: string;
  host: string;
  port: number;
  maxBodyBytes: number;
}

export interface TransportOptions {
  telegraf: Telegraf;
  me: UserFromGetMe;
  mode: "polling" | "webhook";
  webhook: WebhookSettings | undefined;
  log: TransportLog;
  redact: Redactor;
  /**
   * Takes an update; resolves once it is taken (handling goes on without the transport). Rejects
   * when it was not taken and must come again (never acknowledged).
   */
  onUpdate(update: Update): Promise<void>;
  /** A handler error that escaped onUpdate (the router catches its own): counted and logged. */
  onHandlerError(): void;
  /** Polling ended on its own (401, 409 another poller, …): the process should exit and restart. */
  onFatal(error: unknown): void;
}

export interface Transport {
  readonly telegraf: Telegraf;
  readonly me: UserFromGetMe;
  /** Whether updates are flowing in. */
  readonly receiving: boolean;
  /** The webhook server's port (webhook mode). */
  readonly webhookPort: number | undefined;
  /** Stops taking updates (polling stops, the webhook server closes; the webhook stays registered). */
  stop(): Promise<void>;
}

/** A webhook request is cut after this long (Telegram then delivers the update again). */
const HANDLER_TIMEOUT_MS = 120_000;

/** telegraf's client, asked once who the bot is (the id goes into idempotency keys). */
export async function connectTelegraf(
  token: string,
  apiRoot: string,
): Promise<{ telegraf: Telegraf; me: UserFromGetMe }> {
  const telegraf = new Telegraf(token, {
    telegram: { apiRoot, webhookReply: false },
    // No timeout: intake waits on a payment until billing accepted it, and a timeout would make
    // telegraf move on and confirm the update. Every other update is taken at once.
    handlerTimeout: Number.POSITIVE_INFINITY,
  });
  const me = await telegraf.telegram.getMe();
  // Set once, so telegraf never calls getMe again per update.
  telegraf.botInfo = me;
  return { telegraf, me };
}

/** Starts taking updates. */
export async function startTransport(options: TransportOptions): Promise<Transport> {
  const { log, redact, telegraf, me } = options;
  telegraf.use(async (ctx) => {
    try {
      await options.onUpdate(ctx.update);
    } catch (error) {
      log.warn(
        { update_id: ctx.update.update_id, error: describeError(error, redact) },
        "update not taken; it stays unacknowledged",
      );
      // Polling waits for this batch before it confirms it: parked, it is never confirmed, and the
      // process is stopping anyway. (Webhook updates that can be refused never get here.)
      await new Promise<never>(() => undefined);
    }
  });
  // Without this, one handler error would stop polling (telegraf rethrows it into the poll loop).
  telegraf.catch((error, ctx) => {
    options.onHandlerError();
    log.error(
      { update_id: ctx.update.update_id, error: describeError(error, redact) },
      "unhandled error in an update handler",
    );
  });

  let receiving = false;

  if (options.mode === "polling") {
    let launched: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (launched = resolve));
    telegraf
      .launch({ allowedUpdates: [...ALLOWED_UPDATES], dropPendingUpdates: false }, () => {
        receiving = true;
        launched();
      })
      .then(
        () => {
          receiving = false;
        },
        (error: unknown) => {
          receiving = false;
          launched();
          log.error({ error: describeError(error, redact) }, "long polling stopped");
          options.onFatal(error);
        },
      );
    await started;
    log.info({ bot: me.username }, "long polling");
    return {
      telegraf,
      me,
      get receiving() {
        return receiving;
      },
      webhookPort: undefined,
      stop() {
        if (receiving) {
          receiving = false;
          telegraf.stop("shutdown");
        }
        return Promise.resolve();
      },
    };
  }

  const webhook = options.webhook;
  if (webhook === undefined) throw new Error("webhook mode without webhook settings");
  const callback = await telegraf.createWebhook({
    domain: webhook.domain,
    path: webhook.path,
    secret_token: webhook.secret,
    allowed_updates: [...ALLOWED_UPDATES],
    drop_pending_updates: false,
  });
  const server = createServer((req, res) => {
    void serveWebhook(req, res, webhook, callback, (update) => options.onUpdate(update)).catch(
      (error: unknown) => {
        log.error({ error: describeError(error, redact) }, "webhook request failed");
        if (!res.headersSent) res.writeHead(500).end();
      },
    );
  });
  server.requestTimeout = HANDLER_TIMEOUT_MS;
  server.headersTimeout = 10_000;
  await listen(server, webhook.host, webhook.port);
  receiving = true;
  const port = (server.address() as AddressInfo).port;
  log.info({ bot: me.username, path: webhook.path, port }, "webhook registered and listening");
  return {
    telegraf,
    me,
    get receiving() {
      return receiving;
    },
    webhookPort: port,
    async stop() {
      receiving = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Requests in progress finish (their handlers are awaited by the caller); idle sockets go now.
        server.closeIdleConnections();
      });
    },
  };
}

type WebhookRequest = IncomingMessage & { body?: Update };
type WebhookCallback = (req: WebhookRequest, res: ServerResponse) => Promise<void>;

const SECRET_HEADER = "x-telegram-bot-api-secret-token";

/** Constant-time comparison of the secret header (digests, so the length does not leak either). */
function secretMatches(presented: string | string[] | undefined, secret: string): boolean {
  if (typeof presented !== "string") return false;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(presented), digest(secret));
}

async function serveWebhook(
  req: WebhookRequest,
  res: ServerResponse,
  webhook: WebhookSettings,
  callback: WebhookCallback,
  take: (update: Update) => Promise<void>,
): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (path !== webhook.path) {
    res.writeHead(404).end();
    return;
  }
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end();
    return;
  }
  // Checked before the body is read: a request without Telegram's secret costs us nothing.
  if (!secretMatches(req.headers[SECRET_HEADER], webhook.secret)) {
    res.writeHead(403).end();
    req.resume();
    return;
  }
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > webhook.maxBodyBytes) {
    res.writeHead(413).end();
    req.resume();
    return;
  }
  // Read here, bounded, and hand telegraf the text (it would otherwise read any size).
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > webhook.maxBodyBytes) {
      res.writeHead(413).end();
      return;
    }
    chunks.push(chunk);
  }
  let update: unknown;
  try {
    update = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    res.writeHead(400).end();
    return;
  }
  if (
    typeof update !== "object" ||
    update === null ||
    typeof (update as { update_id?: unknown }).update_id !== "number"
  ) {
    res.writeHead(400).end();
    return;
  }
  if (isPayment(update)) {
    // Answered by us, not telegraf (which answers 200 whatever happened): 200 only once taken.
    try {
      await take(update as Update);
      res.writeHead(200).end();
    } catch {
      res.writeHead(503).end();
    }
    return;
  }
  req.body = update as Update;
  // telegraf checks path and secret again, runs the handler, then answers 200.
  await callback(req, res);
}

function isPayment(update: object): boolean {
  const message = (update as { message?: unknown }).message;
  return typeof message === "object" && message !== null && "successful_payment" in message;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
