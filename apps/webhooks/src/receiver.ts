// POST /yookassa/webhook. v3 notifications carry no signature, so the sender is authenticated by
// address (YooKassa's published ranges; X-Forwarded-For only from our own proxies), the body is
// bounded and validated, and billing — which re-reads the object with GET — decides. The answer
// tells YooKassa whether to redeliver: 200 once billing accepted (or for events deliberately
// ignored), 5xx while billing cannot answer, 4xx for forbidden senders and garbage.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError, errorReason, type BillingClient } from "@billing/client";
import { type Counter, type Logger } from "@billing/observability";
import { NotificationOutcome } from "@billing/proto/billing/v1/payments_pb";
import {
  type IpMatcher,
  NotificationParseError,
  PAYMENT_NOTIFICATION_EVENTS,
  parseNotification,
  REFUND_NOTIFICATION_EVENTS,
  resolveClientIp,
} from "@billing/yookassa";
import type { DeadLetterReason, DeadLetterSink } from "./dead-letters.js";

export const WEBHOOK_PATH = "/yookassa/webhook";

export type Outcome =
  | "applied"
  | "unchanged"
  | "ignored"
  | "forbidden"
  | "too_large"
  | "invalid"
  | "unavailable"
  | "mismatch"
  | "failed";

export interface ReceiverOptions {
  readonly senders: IpMatcher;
  readonly trustedProxies: IpMatcher;
  readonly maxBodyBytes: number;
  readonly billing: BillingClient;
  readonly billingTimeoutMs: number;
  readonly deadLetters: DeadLetterSink | undefined;
  readonly log: Logger;
  readonly notifications: Counter<"event" | "outcome">;
  /** False from SIGTERM on: new notifications get 503 and come back later. */
  readonly accepting: () => boolean;
}

// Codes after which billing may well answer if asked again: YooKassa should redeliver.
const RETRY_LATER = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Canceled,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.Unknown,
]);
const KNOWN_EVENTS: ReadonlySet<string> = new Set([
  ...PAYMENT_NOTIFICATION_EVENTS,
  ...REFUND_NOTIFICATION_EVENTS,
]);

/** Handles one request to the webhook server; every path ends in exactly one answer. */
export function createReceiver(
  options: ReceiverOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    let event = "unknown";
    let objectId: string | undefined;
    const clientIp = resolveClientIp({
      remoteAddress: req.socket.remoteAddress,
      xForwardedFor: req.headers["x-forwarded-for"],
      trustedProxies: options.trustedProxies,
    });
    const answer = (status: number, outcome: Outcome | undefined, text: string) => {
      if (outcome !== undefined) {
        options.notifications.inc({
          event: KNOWN_EVENTS.has(event) ? event : event === "unknown" ? "unknown" : "other",
          outcome,
        });
        const line = {
          event,
          object_id: objectId,
          outcome,
          status,
          client_ip: clientIp,
          duration_ms: Math.round(performance.now() - started),
        };
        if (status >= 500 || outcome === "mismatch") options.log.error(line, "notification not accepted");
        else if (status >= 400) options.log.warn(line, "notification refused");
        else options.log.info(line, "notification handled");
      }
      if (res.headersSent) return;
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(`${text}\n`);
    };
    const refuseAndClose = (status: number, outcome: Outcome | undefined, text: string) => {
      // Do not read what is left of the body: answer and drop the connection.
      res.setHeader("connection", "close");
      answer(status, outcome, text);
      req.resume();
    };

    const path = (req.url ?? "/").split("?")[0];
    if (path !== WEBHOOK_PATH) return refuseAndClose(404, undefined, "not found");
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return refuseAndClose(405, undefined, "method not allowed");
    }
    if (clientIp === undefined || !options.senders.contains(clientIp))
      return refuseAndClose(403, "forbidden", "forbidden");
    if (!options.accepting()) return refuseAndClose(503, "unavailable", "shutting down; retry later");
    const declared = Number(req.headers["content-length"] ?? "0");
    if (Number.isFinite(declared) && declared > options.maxBodyBytes)
      return refuseAndClose(413, "too_large", "body too large");

    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > options.maxBodyBytes) {
        tooLarge = true;
        refuseAndClose(413, "too_large", "body too large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", () => undefined);
    req.on("end", () => {
      if (tooLarge) return;
      const body = Buffer.concat(chunks);
      void handle(body).catch((error: unknown) => {
        options.log.error({ err: error }, "webhook handler failed");
        answer(500, "failed", "internal error");
      });
    });

    const park = async (reason: DeadLetterReason, detail: string, body: Buffer) => {
      const parked = (await options.deadLetters?.park({ reason, detail, body, sourceIp: clientIp })) ?? false;
      if (!parked) options.log.warn({ reason, detail }, "notification not parked on the dead-letter stream");
    };

    async function handle(body: Buffer): Promise<void> {
      let notification;
      try {
        notification = parseNotification(body);
      } catch (error) {
        if (!(error instanceof NotificationParseError)) throw error;
        await park("invalid_notification", error.message, body);
        return answer(400, "invalid", "not a YooKassa notification");
      }
      event = notification.event;
      if (notification.kind === "ignored") {
        objectId = notification.objectId;
        return answer(200, "ignored", "ok");
      }
      objectId = notification.object.id;
      try {
        // Only the event and the object's id go to billing: it re-reads the object with GET.
        const result = await options.billing.payments.handleNotification(
          { event: notification.event, objectId: notification.object.id },
          { timeoutMs: options.billingTimeoutMs },
        );
        const outcome =
          result.outcome === NotificationOutcome.APPLIED
            ? "applied"
            : result.outcome === NotificationOutcome.UNCHANGED
              ? "unchanged"
              : "ignored";
        return answer(200, outcome, "ok");
      } catch (error) {
        const failure = ConnectError.from(error);
        const reason = errorReason(error);
        if (RETRY_LATER.has(failure.code))
          return answer(503, "unavailable", "billing unavailable; retry later");
        if (reason === "PAYMENT_MISMATCH") {
          // Permanent: redelivery cannot fix it. Billing credited nothing and alerted; keep a copy.
          await park("payment_mismatch", failure.rawMessage, body);
          return answer(200, "mismatch", "ok");
        }
        if (failure.code === Code.InvalidArgument) {
          await park("rejected_by_billing", failure.rawMessage, body);
          return answer(400, "invalid", "rejected");
        }
        // Anything else (billing misconfigured, YooKassa refusing billing's read, a bug): let
        // YooKassa redeliver while operators look; the sweep catches up on payments meanwhile.
        options.log.error({ code: Code[failure.code], reason }, "billing refused a notification");
        return answer(500, "failed", "not accepted; retry later");
      }
    }
  };
}
