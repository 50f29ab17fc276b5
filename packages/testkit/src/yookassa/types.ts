// Wire shapes the fake answers with (snake_case, exactly as YooKassa's JSON) and its control vocabulary.

export interface WireAmount {
  readonly value: string;
  readonly currency: string;
}

export type FakePaymentStatus = "pending" | "waiting_for_capture" | "succeeded" | "canceled";
export type FakeRefundStatus = "pending" | "succeeded" | "canceled";

export interface FakeCancellationDetails {
  readonly party: string;
  readonly reason: string;
}

/** A payment as GET /v3/payments/{id} returns it. */
export interface FakePaymentObject {
  readonly id: string;
  readonly status: FakePaymentStatus;
  readonly paid: boolean;
  readonly amount: WireAmount;
  readonly income_amount?: WireAmount;
  readonly refunded_amount?: WireAmount;
  readonly description?: string;
  readonly recipient: { readonly account_id: string; readonly gateway_id: string };
  readonly payment_method?: Readonly<Record<string, unknown>>;
  readonly captured_at?: string;
  readonly created_at: string;
  readonly expires_at?: string;
  readonly confirmation?: {
    readonly type: "redirect";
    readonly confirmation_url: string;
    readonly return_url?: string;
  };
  readonly test: true;
  readonly refundable: boolean;
  readonly receipt_registration?: "pending" | "succeeded";
  readonly metadata: Readonly<Record<string, string>>;
  readonly cancellation_details?: FakeCancellationDetails;
}

/** A refund as GET /v3/refunds/{id} returns it. */
export interface FakeRefundObject {
  readonly id: string;
  readonly payment_id: string;
  readonly status: FakeRefundStatus;
  readonly amount: WireAmount;
  readonly created_at: string;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly cancellation_details?: FakeCancellationDetails;
}

/** GET /refunds: one page of refunds. */
export interface FakeRefundList {
  readonly type: "list";
  readonly items: readonly FakeRefundObject[];
  readonly next_cursor?: string;
}

/** The API endpoints faults can be attached to. */
export type FakeEndpoint =
  | "payments.create"
  | "payments.get"
  | "payments.capture"
  | "payments.cancel"
  | "refunds.create"
  | "refunds.get"
  | "refunds.list";

export const FAKE_ENDPOINTS: readonly FakeEndpoint[] = [
  "payments.create",
  "payments.get",
  "payments.capture",
  "payments.cancel",
  "refunds.create",
  "refunds.get",
  "refunds.list",
];

/**
 * One injected failure, consumed by the next matching request. `performed` says whether the
 * operation takes effect (and is stored under its Idempotence-Key) before the faulty answer:
 * a repeat with the same key then gets the original result, as at the real YooKassa.
 */
export type FakeFault =
  /** 429 too_many_requests with `retry_after` (ms). Never performed. */
  | { readonly type: "rate_limit"; readonly retryAfterMs?: number }
  /** 500 internal_server_error. `performed` default false. */
  | { readonly type: "server_error"; readonly performed?: boolean; readonly retryAfterMs?: number }
  /** 202 "processing" with `retry_after`. `performed` default false. */
  | { readonly type: "processing"; readonly performed?: boolean; readonly retryAfterMs?: number }
  /** Answer only after `delayMs` (beyond the client's timeout). `performed` default true (done, answer late). */
  | { readonly type: "delay"; readonly delayMs: number; readonly performed?: boolean }
  /** Destroy the socket without an answer. `performed` default false. */
  | { readonly type: "drop_connection"; readonly performed?: boolean }
  /** 200 with a truncated JSON body. `performed` default true. */
  | { readonly type: "malformed_json"; readonly performed?: boolean }
  /** Any error answer, e.g. 403 forbidden. Never performed. */
  | {
      readonly type: "error";
      readonly status: number;
      readonly code: string;
      readonly description?: string;
      readonly parameter?: string;
    };

/** Extra behaviour of one notification (all optional, combinable). */
export interface NotificationQuirk {
  /** Wait this long before the first delivery attempt. */
  readonly delayMs?: number;
  /** Deliver this many extra copies (each retried on its own), as YooKassa sometimes does. */
  readonly duplicates?: number;
  /**
   * Send from `foreignLocalAddress` (default 127.0.0.2) instead of the usual address: the receiver
   * sees a peer outside its allow-list. Works when the receiver listens on loopback (Linux).
   */
  readonly fromForeignAddress?: boolean;
  /** Add an X-Forwarded-For header (e.g. a real YooKassa address) that the receiver must not trust. */
  readonly forwardedFor?: string;
}

export interface NotificationDelivery {
  /** The logical notification (see `notifications`); duplicates have their own ids. */
  readonly notificationId: number;
  /** 1-based attempt of this notification. */
  readonly attempt: number;
  readonly event: string;
  readonly objectId: string;
  readonly url: string;
  /** HTTP status of the receiver's answer, undefined when there was none (refused, timeout). */
  readonly status: number | undefined;
  readonly error?: string;
  readonly forged: boolean;
  readonly localAddress: string | undefined;
  readonly forwardedFor: string | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

export interface EmittedNotification {
  readonly id: number;
  readonly event: string;
  readonly objectId: string;
  /** The exact JSON body sent. */
  readonly body: string;
  readonly forged: boolean;
  /** Set for extra copies: the id of the notification they duplicate. */
  readonly duplicateOf?: number;
  readonly quirk: NotificationQuirk;
  readonly state: "held" | "scheduled" | "delivered" | "failed" | "dropped";
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly endpoint: FakeEndpoint | undefined;
  readonly idempotenceKey: string | undefined;
  readonly status: number | "dropped";
  /** The fault consumed by this request, if any. */
  readonly fault: FakeFault["type"] | undefined;
  /** Answered from the idempotence store. */
  readonly replayed: boolean;
  readonly at: string;
}
