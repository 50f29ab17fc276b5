// The bot process, assembled: Telegram (telegraf behind TelegramApi and the transport), the send
// queue, billing's client, NATS (jobs out, results and billing events in), the router and the ops
// server. startBot() is what main.ts runs and what in-process tests build; close() stops it in order:
// no new updates, running handlers finish, consumers finish, the send queue drains (bounded), then
// the connections close.
import { createBillingClient } from "@billing/client";
import type { BotConfig } from "@billing/config";
import { createMetricsRegistry, type Logger, type Registry, startOpsServer } from "@billing/observability";
import { setTimeout as sleep } from "node:timers/promises";
import { onBillingEvent } from "./billing-events.js";
import { Cached } from "./cached.js";
import { registerCommands } from "./commands.js";
import type { BotContext } from "./context.js";
import { connectEvents } from "./jobs.js";
import { BotMemory } from "./memory.js";
import { createBotMetrics } from "./metrics.js";
import { onCompleted, onFailed } from "./results.js";
import { createRouter } from "./router.js";
import { describeError, type Redactor } from "./telegram/redact.js";
import { OutOfBand } from "./telegram/out-of-band.js";
import { SendQueue } from "./telegram/send-queue.js";
import { createTelegramApi } from "./telegram/telegram-api.js";
import { connectTelegraf, startTransport } from "./telegram/transport.js";

/** Prices and top-up options change with billing's configuration: re-read at most once a minute. */
const CATALOGUE_TTL_MS = 60_000;
const TELEGRAM_CONNECT_ATTEMPTS = 5;
/** Callback answers and chat actions in flight at once, and chat actions allowed to wait. */
const OUT_OF_BAND_CONCURRENCY = 32;
const OUT_OF_BAND_BACKLOG_MAX = 2_000;

export interface RunningBot {
  readonly username: string;
  readonly opsPort: number;
  readonly webhookPort: number | undefined;
  readonly registry: Registry;
  /** Stops gracefully within the configured shutdown grace. */
  close(): Promise<void>;
}

export interface BotOptions {
  log: Logger;
  redact: Redactor;
  /** Intake died for good (e.g. another instance polls with the same token): exit and let it restart. */
  onFatal(error: unknown): void;
}

export async function startBot(config: BotConfig, options: BotOptions): Promise<RunningBot> {
  const { log, redact } = options;
  const registry = createMetricsRegistry("bot");
  const billing = createBillingClient({
    baseUrl: config.billingUrl,
    token: config.billingToken,
    timeoutMs: config.billingTimeoutMs,
  });
  const { telegraf, me } = await withRetries(
    () => connectTelegraf(config.telegram.token, config.telegram.apiRoot),
    TELEGRAM_CONNECT_ATTEMPTS,
    (error, attempt) =>
      log.warn({ attempt, error: describeError(error, redact) }, "Telegram getMe failed; retrying"),
  );
  const api = createTelegramApi({
    telegram: telegraf.telegram,
    apiRoot: config.telegram.apiRoot,
    token: config.telegram.token,
    redact,
  });

  // The depth gauge reads the queue only when scraped, so the queue can be created after it.
  const metrics = createBotMetrics(registry, { sendQueueDepth: () => sendQueue.depth });
  const sendQueue = new SendQueue({
    api,
    ...config.send,
    log,
    hooks: {
      sent: (method, priority, waitedMs, callMs) => {
        metrics.messagesSent.inc({ method, priority });
        metrics.sendWait.observe({ priority }, waitedMs / 1000);
        metrics.sendCall.observe({ method }, callMs / 1000);
      },
      rateLimited: () => metrics.rateLimited.inc(),
      retried: (reason) => metrics.sendRetries.inc({ reason }),
      dropped: (reason) => metrics.messagesDropped.inc({ reason }),
    },
  });

  const signals = new OutOfBand({
    api,
    concurrency: OUT_OF_BAND_CONCURRENCY,
    backlogMax: OUT_OF_BAND_BACKLOG_MAX,
    onResult: (method, outcome) => metrics.outOfBand.inc({ method, outcome }),
    log,
  });
  void registerCommands(api, config.defaultLocale, log, redact);

  const memory = new BotMemory({
    maxUsers: config.limits.stateMaxUsers,
    stateTtlMs: config.limits.stateTtlMs,
  });
  const events = connectEvents({ config, log, redact });
  const ctx: BotContext = {
    config,
    log,
    redact,
    api,
    sendQueue,
    signals,
    billing,
    jobs: events.gateway,
    memory,
    metrics,
    prices: new Cached(() => billing.wallet.getPriceList({}), CATALOGUE_TTL_MS),
    topUpOptions: new Cached(() => billing.payments.listTopUpOptions({}), CATALOGUE_TTL_MS),
    botId: me.id,
  };
  events.startConsumers({
    completed: (event) => onCompleted(ctx, event),
    failed: (event) => onFailed(ctx, event),
    billing: (event) => onBillingEvent(ctx, event),
  });
  const router = createRouter(ctx);
  const handlerErrors = metrics.handlerErrors;

  let transport: Awaited<ReturnType<typeof startTransport>> | undefined;
  const ops = await startOpsServer({
    host: config.opsHost,
    port: config.opsPort,
    registry,
    ready: () => transport?.receiving === true && events.ready,
  });
  try {
    transport = await startTransport({
      telegraf,
      me,
      mode: config.mode,
      webhook: config.webhook,
      log,
      redact,
      onUpdate: (update) => router.accept(update),
      onHandlerError: () => handlerErrors.inc(),
      onFatal: (error) => options.onFatal(error),
    });
  } catch (error) {
    await ops.close();
    await events.close();
    billing.close();
    throw error;
  }
  const intake = transport;
  log.info({ bot: me.username, mode: config.mode, ops_port: ops.port }, "bot started");

  let closing: Promise<void> | undefined;
  return {
    username: me.username,
    opsPort: ops.port,
    webhookPort: intake.webhookPort,
    registry,
    close() {
      closing ??= (async () => {
        const deadline = Date.now() + config.limits.shutdownGraceMs;
        const remaining = () => Math.max(0, deadline - Date.now());
        await intake.stop();
        // Updates in hand finish (they reserve, publish and queue replies), within half the grace.
        await Promise.race([router.close(), sleep(remaining() / 2)]);
        await Promise.race([events.stopConsumers(), sleep(remaining() / 2)]);
        const drained = await sendQueue.close(remaining());
        await events.close();
        billing.close();
        await ops.close();
        log.info({ drained }, "bot stopped");
      })();
      return closing;
    },
  };
}

async function withRetries<T>(
  work: () => Promise<T>,
  attempts: number,
  onRetry: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts) throw error;
      onRetry(error, attempt);
      await sleep(Math.min(5_000, 250 * 2 ** attempt));
    }
  }
}
