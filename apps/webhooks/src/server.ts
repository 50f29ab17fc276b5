// The webhooks app: the notification receiver and /healthz /readyz /metrics on one HTTP port (the
// public ingress forwards only the webhook path), a billing client with the app's own token, the
// dead-letter sink, and a graceful shutdown. `startWebhooks` is what main.ts runs and what tests
// start on port 0.
import { type BillingClient, createBillingClient } from "@billing/client";
import { ConfigError, type WebhooksConfig, YOOKASSA_SENDERS } from "@billing/config";
import {
  Counter,
  createLogger,
  createMetricsRegistry,
  type Logger,
  type OpsServer,
  startOpsServer,
} from "@billing/observability";
import { createIpMatcher, type IpMatcher, YOOKASSA_NOTIFICATION_CIDRS } from "@billing/yookassa";
import { type DeadLetterSink, startDeadLetterSink } from "./dead-letters.js";
import { createReceiver, WEBHOOK_PATH } from "./receiver.js";

export interface WebhooksOptions {
  config: WebhooksConfig;
  log?: Logger;
}

export interface Webhooks {
  /** e.g. http://127.0.0.1:8082/yookassa/webhook */
  readonly webhookUrl: string;
  /** The one port: the webhook, /healthz, /readyz and /metrics. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startWebhooks(options: WebhooksOptions): Promise<Webhooks> {
  const { config } = options;
  const log = options.log ?? createLogger({ app: "webhooks", level: config.logLevel });
  const senders = matcher("WEBHOOKS_ALLOWED_SENDERS", config.allowedSenders);
  const trustedProxies = matcher("WEBHOOKS_TRUSTED_PROXIES", config.trustedProxies);
  const registry = createMetricsRegistry("webhooks");
  const notifications = new Counter({
    name: "webhooks_notifications_total",
    help: "YooKassa notifications by event and outcome (applied, unchanged, ignored, forbidden, too_large, invalid, unavailable, mismatch, failed).",
    labelNames: ["event", "outcome"] as const,
    registers: [registry],
  });
  const billing: BillingClient = createBillingClient({
    baseUrl: config.billingUrl,
    token: config.billingToken,
    timeoutMs: config.billingTimeoutMs,
  });
  const deadLetters: DeadLetterSink | undefined = config.deadLetters
    ? startDeadLetterSink({
        natsUrl: config.natsUrl,
        namespace: config.natsNamespace,
        streamReplicas: config.natsStreamReplicas,
        log,
      })
    : undefined;

  let accepting = true;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const receiver = createReceiver({
    senders,
    trustedProxies,
    maxBodyBytes: config.maxBodyBytes,
    billing,
    billingTimeoutMs: config.billingTimeoutMs,
    deadLetters,
    log,
    notifications,
    accepting: () => accepting,
  });
  const ops: OpsServer = await startOpsServer({
    host: config.host,
    port: config.port,
    registry,
    ready: () => accepting,
    handle: (req, res) => {
      if ((req.url ?? "/").split("?")[0] !== WEBHOOK_PATH) return false;
      inFlight++;
      res.once("close", () => {
        inFlight--;
        if (inFlight === 0) idle?.();
      });
      receiver(req, res);
      return true;
    },
  });
  log.info({ port: ops.port, path: WEBHOOK_PATH }, "webhooks listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // From now on new notifications get 503 (YooKassa redelivers them) and /readyz says not ready;
      // those in flight finish within the grace.
      accepting = false;
      if (inFlight > 0) {
        const drained = new Promise<void>((resolve) => (idle = resolve));
        const grace = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref());
        await Promise.race([drained, grace]);
      }
      await ops.close();
      billing.close();
      await deadLetters?.close();
      log.info("webhooks stopped");
    })());

  return {
    webhookUrl: `http://127.0.0.1:${ops.port}${WEBHOOK_PATH}`,
    port: ops.port,
    close,
  };
}

/** "yookassa" stands for YooKassa's published ranges; a malformed range stops the start. */
function matcher(variable: string, entries: readonly string[]): IpMatcher {
  const ranges = entries.flatMap((entry) =>
    entry === YOOKASSA_SENDERS ? YOOKASSA_NOTIFICATION_CIDRS : [entry],
  );
  try {
    return createIpMatcher(ranges);
  } catch (error) {
    throw new ConfigError([`${variable}: ${error instanceof Error ? error.message : String(error)}`]);
  }
}
