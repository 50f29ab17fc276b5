// Incoming YooKassa notifications (webhooks). v3 notifications carry no signature: the body only
// names an object. Authenticate the sender by address (see ip.ts), then re-read the object with
// GET and act on that answer, never on `object` here.
import type { Payment, Refund } from "./types.js";
import { MalformedWireError, decodePayment, decodeRefund } from "./wire.js";

export const PAYMENT_NOTIFICATION_EVENTS = [
  "payment.waiting_for_capture",
  "payment.succeeded",
  "payment.canceled",
] as const;
export type PaymentNotificationEvent = (typeof PAYMENT_NOTIFICATION_EVENTS)[number];

export const REFUND_NOTIFICATION_EVENTS = ["refund.succeeded"] as const;
export type RefundNotificationEvent = (typeof REFUND_NOTIFICATION_EVENTS)[number];

export type Notification =
  | {
      readonly type: "notification";
      readonly kind: "payment";
      readonly event: PaymentNotificationEvent;
      /** The payment as it was at the event, unauthenticated: use only `object.id`, then GET. */
      readonly object: Payment;
    }
  | {
      readonly type: "notification";
      readonly kind: "refund";
      readonly event: RefundNotificationEvent;
      /** The refund as it was at the event, unauthenticated: use only `object.id`, then GET. */
      readonly object: Refund;
    }
  | {
      /** A well-formed notification we do not handle (payout.*, deal.*, payment_method.*, …): answer 200. */
      readonly type: "notification";
      readonly kind: "ignored";
      readonly event: string;
      readonly objectId: string | undefined;
      readonly object: unknown;
    };

export class NotificationParseError extends Error {
  override readonly name = "NotificationParseError";
  constructor(
    /** Where the body went wrong, e.g. "body", "event", "object.amount.value". */
    readonly path: string,
    problem: string,
  ) {
    super(`invalid YooKassa notification at ${path}: ${problem}`);
  }
}

export const MAX_NOTIFICATION_BYTES = 1024 * 1024;
// "payment.succeeded", "payout.canceled", "deal.closed", "payment_method.active": lowercase dotted words.
const EVENT_NAME = /^[a-z][a-z_]{0,63}(\.[a-z][a-z_]{0,63}){1,3}$/;

function isPaymentEvent(event: string): event is PaymentNotificationEvent {
  return (PAYMENT_NOTIFICATION_EVENTS as readonly string[]).includes(event);
}

function isRefundEvent(event: string): event is RefundNotificationEvent {
  return (REFUND_NOTIFICATION_EVENTS as readonly string[]).includes(event);
}

/**
 * Validates a notification body: a parsed JSON value, or the raw body as a string or bytes.
 * Throws `NotificationParseError` for anything that is not a YooKassa notification.
 */
export function parseNotification(body: unknown): Notification {
  const value = typeof body === "string" || body instanceof Uint8Array ? parseRaw(body) : body;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new NotificationParseError("body", "expected a JSON object");
  }
  const envelope = value as Record<string, unknown>;
  if (envelope["type"] !== "notification")
    throw new NotificationParseError("type", 'expected "notification"');
  const event = envelope["event"];
  if (typeof event !== "string" || !EVENT_NAME.test(event)) {
    throw new NotificationParseError("event", "expected an event name like payment.succeeded");
  }
  const object = envelope["object"];
  try {
    if (isPaymentEvent(event)) {
      return { type: "notification", kind: "payment", event, object: decodePayment(object, "object") };
    }
    if (isRefundEvent(event)) {
      return { type: "notification", kind: "refund", event, object: decodeRefund(object, "object") };
    }
  } catch (error) {
    if (error instanceof MalformedWireError) throw new NotificationParseError(error.path, error.problem);
    throw error;
  }
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    throw new NotificationParseError("object", "expected an object");
  }
  const id = (object as Record<string, unknown>)["id"];
  return {
    type: "notification",
    kind: "ignored",
    event,
    objectId: typeof id === "string" ? id : undefined,
    object,
  };
}

function parseRaw(body: string | Uint8Array): unknown {
  const size = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.byteLength;
  if (size > MAX_NOTIFICATION_BYTES) throw new NotificationParseError("body", "larger than 1 MiB");
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new NotificationParseError("body", "not valid JSON");
  }
}
