// A faithful local YooKassa API v3 on node:http: Basic auth, payments and refunds with the real
// status machine, the idempotence store, validation with `parameter`, notifications with retries,
// and failure injection. Tests drive it through typed methods; people through /__control/ and the
// checkout page. See README.md next to this file.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

import { fingerprint, IdempotenceStore } from "./idempotence.js";
import { Notifier } from "./notifier.js";
import type { QueuedQuirk } from "./notifier.js";
import { DECLINE_REASONS, renderCheckoutPage, renderIndexPage } from "./page.js";
import { FakeState, TransitionError } from "./state.js";
import type { PaymentRecord, StateChange } from "./state.js";
import { FAKE_ENDPOINTS } from "./types.js";
import type {
  EmittedNotification,
  FakeEndpoint,
  FakeFault,
  FakePaymentObject,
  FakeRefundObject,
  NotificationDelivery,
  NotificationQuirk,
  RecordedRequest,
} from "./types.js";
import {
  validateCapture,
  validateCreatePayment,
  validateCreateRefund,
  validateRefundList,
} from "./validation.js";
import type { ValidationRules } from "./validation.js";

export interface FakeYooKassaOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly shopId: string;
  readonly secretKey: string;
  /** Where notifications go; none are sent without it (they are still recorded). */
  readonly notificationUrl?: string;
  /** The shop sends 54-FZ receipts: `receipt` becomes required (400 `parameter: "receipt"`). */
  readonly receiptsRequired?: boolean;
  /** Accepted currencies. Default ["RUB"]. */
  readonly currencies?: readonly string[];
  /** Refunds start `pending` and wait for `completeRefund` (default: succeed at once, as for cards). */
  readonly refundsStartPending?: boolean;
  /** YooKassa's commission for `income_amount`. Default 350 (3.5 %). */
  readonly commissionBasisPoints?: number;
  /** Waits between notification attempts; attempts = length + 1. Default [100, 250, 500, 1000, 2000]. */
  readonly notificationRetryDelaysMs?: readonly number[];
  /** Per notification attempt. Default 5000. */
  readonly notificationTimeoutMs?: number;
  /** Source address of ordinary notifications (default: chosen by the OS). */
  readonly notificationLocalAddress?: string;
  /** Source address of notifications sent "from a foreign sender". Default 127.0.0.2. */
  readonly foreignLocalAddress?: string;
  /** Base for confirmation URLs when the browser reaches the fake by another name (e.g. in compose). */
  readonly publicOrigin?: string;
  /** `retry_after` of 429/202/500 faults that do not set one. Default 1800 ms (as the SDKs assume). */
  readonly defaultRetryAfterMs?: number;
  /** Bound on payments + refunds kept. Default 10 000. */
  readonly maxObjects?: number;
  readonly now?: () => Date;
}

export interface SendNotificationOptions extends NotificationQuirk {
  readonly paymentId?: string;
  readonly refundId?: string;
  /** Defaults to the event matching the object's current status. */
  readonly event?: string;
  /**
   * The body claims `event` (default payment.succeeded) with an object changed to match it, while
   * the payment itself stays as it is: GET tells the truth, the body lies.
   */
  readonly forged?: boolean;
}

export interface FakeYooKassa {
  /** API base, e.g. http://127.0.0.1:PORT/v3/ (pass as the client's apiUrl). */
  readonly url: string;
  /** e.g. http://127.0.0.1:PORT */
  readonly origin: string;
  /** e.g. http://127.0.0.1:PORT/__control/ */
  readonly controlUrl: string;
  readonly port: number;
  close(): Promise<void>;

  /** The payer pays: pending → succeeded (capture: true) or waiting_for_capture. */
  pay(paymentId: string, options?: { readonly paymentMethodType?: string }): FakePaymentObject;
  /** The payment is refused: pending → canceled with this reason (default insufficient_funds). */
  decline(paymentId: string, reason?: string, party?: string): FakePaymentObject;
  /** pending → canceled `expired_on_confirmation`; waiting_for_capture → canceled `expired_on_capture`. */
  expire(paymentId: string): FakePaymentObject;
  completeRefund(refundId: string): FakeRefundObject;
  cancelRefund(refundId: string, reason?: string): FakeRefundObject;
  getPayment(paymentId: string): FakePaymentObject | undefined;
  getRefund(refundId: string): FakeRefundObject | undefined;
  listPayments(): FakePaymentObject[];
  listRefunds(): FakeRefundObject[];

  /** Queue a fault for the next `times` requests to `endpoint` ("*" = any endpoint). */
  injectFault(endpoint: FakeEndpoint | "*", fault: FakeFault, times?: number): void;
  clearFaults(): void;
  readonly pendingFaults: ReadonlyArray<{ readonly endpoint: FakeEndpoint | "*"; readonly fault: FakeFault }>;
  /** Every API request with its Idempotence-Key and answer (bounded, newest last). */
  readonly requests: readonly RecordedRequest[];

  setNotificationUrl(url: string | undefined): void;
  /** Misbehave on the next notification (matching `event` if given). */
  queueNotificationQuirk(quirk: QueuedQuirk): void;
  /** Hold notifications until `releaseNotifications` (to deliver them out of order). */
  holdNotifications(): void;
  releaseNotifications(order?: "fifo" | "reverse"): number;
  /** Send a notification now: a redelivery, a stale event, or a forged body. Returns its id. */
  sendNotification(options: SendNotificationOptions): number;
  readonly notifications: readonly EmittedNotification[];
  readonly deliveries: readonly NotificationDelivery[];
  /** Resolves when no notification is being delivered or waiting for a retry. */
  notificationsSettled(timeoutMs?: number): Promise<void>;
  /** Forget all objects, keys, faults, logs (not the configuration). */
  reset(): void;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOG_ENTRIES = 1000;
const MAX_FAULTS = 1000;
const MAX_IDEMPOTENCE_ENTRIES = 10_000;
const IDEMPOTENCE_KEY = /^[0-9a-zA-Z+\-_.]{1,64}$/;
const JSON_TYPE = "application/json; charset=utf-8";

interface Answer {
  readonly status: number;
  readonly body: string;
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function errorBody(code: string, description: string, parameter?: string, retryAfterMs?: number): string {
  return JSON.stringify({
    type: "error",
    id: randomUUID(),
    code,
    description,
    ...(parameter === undefined ? {} : { parameter }),
    ...(retryAfterMs === undefined ? {} : { retry_after: retryAfterMs }),
  });
}

function errorAnswer(status: number, code: string, description: string, parameter?: string): Answer {
  return { status, body: errorBody(code, description, parameter) };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

interface RouteMatch {
  readonly endpoint: FakeEndpoint;
  readonly id: string | undefined;
  /** The query string (only GET /refunds reads it). */
  readonly query?: URLSearchParams;
}

function matchApiRoute(method: string, path: string, query: URLSearchParams): RouteMatch | undefined {
  const parts = path.split("/").filter((part) => part !== "");
  // parts[0] === "v3"
  const [, collection, id, action] = parts;
  if (parts.length > 4) return undefined;
  if (collection === "payments") {
    if (id === undefined) return method === "POST" ? { endpoint: "payments.create", id } : undefined;
    if (action === undefined) return method === "GET" ? { endpoint: "payments.get", id } : undefined;
    if (method !== "POST") return undefined;
    if (action === "capture") return { endpoint: "payments.capture", id };
    if (action === "cancel") return { endpoint: "payments.cancel", id };
    return undefined;
  }
  if (collection === "refunds" && action === undefined) {
    if (id === undefined) {
      if (method === "GET") return { endpoint: "refunds.list", id, query };
      return method === "POST" ? { endpoint: "refunds.create", id } : undefined;
    }
    return method === "GET" ? { endpoint: "refunds.get", id } : undefined;
  }
  return undefined;
}

type BodyResult = { readonly ok: true; readonly text: string } | { readonly ok: false };

async function readBody(request: http.IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_BODY_BYTES) return { ok: false };
    chunks.push(chunk);
  }
  return { ok: true, text: Buffer.concat(chunks).toString("utf8") };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isPerformedBeforeAnswer(fault: FakeFault): boolean {
  switch (fault.type) {
    case "rate_limit":
    case "error":
      return false;
    case "server_error":
    case "processing":
    case "drop_connection":
      return fault.performed ?? false;
    case "delay":
    case "malformed_json":
      return fault.performed ?? true;
  }
}

function checkFault(value: unknown): FakeFault {
  if (typeof value !== "object" || value === null) throw new ControlError(400, "fault must be an object");
  const fault = value as Record<string, unknown>;
  const types = [
    "rate_limit",
    "server_error",
    "processing",
    "delay",
    "drop_connection",
    "malformed_json",
    "error",
  ];
  if (typeof fault["type"] !== "string" || !types.includes(fault["type"])) {
    throw new ControlError(400, `fault.type must be one of ${types.join(", ")}`);
  }
  if (fault["type"] === "delay" && typeof fault["delayMs"] !== "number")
    throw new ControlError(400, "delay needs delayMs");
  if (
    fault["type"] === "error" &&
    (typeof fault["status"] !== "number" || typeof fault["code"] !== "string")
  ) {
    throw new ControlError(400, "error needs status and code");
  }
  return value as FakeFault;
}

export async function startFakeYooKassa(options: FakeYooKassaOptions): Promise<FakeYooKassa> {
  const host = options.host ?? "127.0.0.1";
  const defaultRetryAfterMs = options.defaultRetryAfterMs ?? 1800;
  const rules: ValidationRules = {
    currencies: options.currencies ?? ["RUB"],
    receiptsRequired: options.receiptsRequired ?? false,
  };
  const now = options.now ?? (() => new Date());
  const expectedAuth = digest(`${options.shopId}:${options.secretKey}`);
  const faults: Array<{ endpoint: FakeEndpoint | "*"; fault: FakeFault }> = [];
  const requestLog: RecordedRequest[] = [];
  const idempotence = new IdempotenceStore(MAX_IDEMPOTENCE_ENTRIES, () => now().getTime());
  const shutdown = new AbortController();
  let origin = "";

  const notifier = new Notifier({
    url: options.notificationUrl,
    retryDelaysMs: options.notificationRetryDelaysMs ?? [100, 250, 500, 1000, 2000],
    timeoutMs: options.notificationTimeoutMs ?? 5000,
    localAddress: options.notificationLocalAddress,
    foreignLocalAddress: options.foreignLocalAddress ?? "127.0.0.2",
    maxLogEntries: MAX_LOG_ENTRIES,
  });

  const publicOrigin = (): string => options.publicOrigin?.replace(/\/+$/, "") ?? origin;
  const state = new FakeState({
    shopId: options.shopId,
    checkoutUrl: (id) => `${publicOrigin()}/checkout/${id}`,
    now,
    commissionBasisPoints: options.commissionBasisPoints ?? 350,
    refundsStartPending: options.refundsStartPending ?? false,
    maxObjects: options.maxObjects ?? 10_000,
    onChange: (change: StateChange) => {
      notifier.emit(change.event, change.object);
    },
  });

  function authorised(request: http.IncomingMessage): boolean {
    const header = request.headers.authorization ?? "";
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    if (match === null) return false;
    const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8");
    return timingSafeEqual(digest(decoded), expectedAuth);
  }

  function takeFault(endpoint: FakeEndpoint): FakeFault | undefined {
    const index = faults.findIndex((entry) => entry.endpoint === "*" || entry.endpoint === endpoint);
    return index === -1 ? undefined : faults.splice(index, 1)[0]?.fault;
  }

  function record(entry: RecordedRequest): void {
    requestLog.push(entry);
    if (requestLog.length > MAX_LOG_ENTRIES) requestLog.shift();
  }

  function transitionAnswer(error: unknown): Answer {
    if (!(error instanceof TransitionError)) throw error;
    if (error.notFound) return errorAnswer(404, "not_found", error.message);
    return errorAnswer(400, "invalid_request", error.message, error.parameter);
  }

  /** Does the work of one API request. Never touches the idempotence store. */
  function perform(route: RouteMatch, body: unknown): Answer {
    try {
      switch (route.endpoint) {
        case "payments.create": {
          const parsed = validateCreatePayment(body, rules);
          if (!parsed.ok) return errorAnswer(400, "invalid_request", parsed.description, parsed.parameter);
          return {
            status: 200,
            body: JSON.stringify(state.renderPayment(state.createPayment(parsed.value))),
          };
        }
        case "payments.get":
          return { status: 200, body: JSON.stringify(state.renderPayment(state.getPayment(route.id ?? ""))) };
        case "payments.capture": {
          state.getPayment(route.id ?? ""); // 404 before validating the body
          const parsed = validateCapture(body, rules);
          if (!parsed.ok) return errorAnswer(400, "invalid_request", parsed.description, parsed.parameter);
          return {
            status: 200,
            body: JSON.stringify(state.renderPayment(state.capture(route.id ?? "", parsed.value))),
          };
        }
        case "payments.cancel":
          return { status: 200, body: JSON.stringify(state.renderPayment(state.cancel(route.id ?? ""))) };
        case "refunds.create": {
          const parsed = validateCreateRefund(body, rules);
          if (!parsed.ok) return errorAnswer(400, "invalid_request", parsed.description, parsed.parameter);
          return { status: 200, body: JSON.stringify(state.renderRefund(state.createRefund(parsed.value))) };
        }
        case "refunds.get":
          return { status: 200, body: JSON.stringify(state.renderRefund(state.getRefund(route.id ?? ""))) };
        case "refunds.list": {
          const parsed = validateRefundList(route.query ?? new URLSearchParams());
          if (!parsed.ok) return errorAnswer(400, "invalid_request", parsed.description, parsed.parameter);
          return { status: 200, body: JSON.stringify(state.listRefunds(parsed.value)) };
        }
      }
    } catch (error) {
      return transitionAnswer(error);
    }
  }

  function send(response: http.ServerResponse, answer: Answer, contentType = JSON_TYPE): void {
    if (response.destroyed || response.writableEnded) return;
    response.writeHead(answer.status, {
      "Content-Type": contentType,
      "Content-Length": Buffer.byteLength(answer.body),
    });
    response.end(answer.body);
  }

  async function handleApi(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    path: string,
    query: URLSearchParams,
  ): Promise<void> {
    const method = request.method ?? "GET";
    const route = matchApiRoute(method, path, query);
    const idempotenceKey = firstHeader(request.headers["idempotence-key"]);
    // Filled in once the request is routed; read by `finish` for the request log.
    const taken: { fault: FakeFault | undefined } = { fault: undefined };
    let replayed = false;
    const finish = (answer: Answer | "dropped"): void => {
      record({
        method,
        path,
        endpoint: route?.endpoint,
        idempotenceKey,
        status: answer === "dropped" ? "dropped" : answer.status,
        fault: taken.fault?.type,
        replayed,
        at: now().toISOString(),
      });
      if (answer === "dropped") request.socket.destroy();
      else send(response, answer);
    };

    if (!authorised(request)) {
      finish(errorAnswer(401, "invalid_credentials", "Authentication by given credentials failed"));
      return;
    }
    const body = await readBody(request);
    if (!body.ok) {
      response.setHeader("Connection", "close");
      finish(errorAnswer(413, "invalid_request", "Request body is larger than 1 MiB"));
      return;
    }
    if (route === undefined) {
      finish(errorAnswer(404, "not_found", `No such endpoint: ${method} ${path}`));
      return;
    }

    const fault = takeFault(route.endpoint);
    taken.fault = fault;
    // Faults that answer without doing anything.
    if (fault !== undefined && !isPerformedBeforeAnswer(fault)) {
      switch (fault.type) {
        case "rate_limit":
          finish({
            status: 429,
            body: errorBody(
              "too_many_requests",
              "Too many requests",
              undefined,
              fault.retryAfterMs ?? defaultRetryAfterMs,
            ),
          });
          return;
        case "server_error":
          finish({
            status: 500,
            body: errorBody("internal_server_error", "Internal server error", undefined, fault.retryAfterMs),
          });
          return;
        case "processing":
          finish({ status: 202, body: processingBody(fault.retryAfterMs ?? defaultRetryAfterMs) });
          return;
        case "drop_connection":
          finish("dropped");
          return;
        case "error":
          finish(errorAnswer(fault.status, fault.code, fault.description ?? fault.code, fault.parameter));
          return;
        case "delay":
          // A slow server: the work starts only after the delay (the client may retry meanwhile).
          await sleep(fault.delayMs, undefined, { signal: shutdown.signal }).catch(() => undefined);
          break;
        case "malformed_json":
          break;
      }
    }

    let answer: Answer;
    if (method === "POST") {
      if (idempotenceKey === undefined) {
        finish(errorAnswer(400, "invalid_request", "Idempotence-Key header is required", "Idempotence-Key"));
        return;
      }
      if (!IDEMPOTENCE_KEY.test(idempotenceKey)) {
        finish(
          errorAnswer(
            400,
            "invalid_request",
            "Idempotence-Key must be 1–64 characters of [0-9a-zA-Z+-_.]",
            "Idempotence-Key",
          ),
        );
        return;
      }
      const json = body.text.trim() === "" ? { ok: true as const, value: {} } : parseJson(body.text);
      if (!json.ok) {
        finish(errorAnswer(400, "invalid_request", "Request body is not valid JSON"));
        return;
      }
      const requestPrint = fingerprint(method, path, json.value);
      const stored = idempotence.get(options.shopId, idempotenceKey);
      if (stored !== undefined) {
        if (stored.fingerprint !== requestPrint) {
          finish(
            errorAnswer(
              400,
              "invalid_request",
              "Idempotence key duplicated with another request",
              "Idempotence-Key",
            ),
          );
          return;
        }
        replayed = true;
        answer = stored;
      } else {
        answer = perform(route, json.value);
        if (answer.status < 500)
          idempotence.put(options.shopId, idempotenceKey, { ...answer, fingerprint: requestPrint });
      }
    } else {
      answer = perform(route, undefined);
    }

    // Faults that answer badly after the work was done (and stored under its key).
    if (fault !== undefined && isPerformedBeforeAnswer(fault)) {
      switch (fault.type) {
        case "server_error":
          finish({
            status: 500,
            body: errorBody("internal_server_error", "Internal server error", undefined, fault.retryAfterMs),
          });
          return;
        case "processing":
          finish({ status: 202, body: processingBody(fault.retryAfterMs ?? defaultRetryAfterMs) });
          return;
        case "drop_connection":
          finish("dropped");
          return;
        case "delay":
          await sleep(fault.delayMs, undefined, { signal: shutdown.signal }).catch(() => undefined);
          break;
        case "malformed_json":
          finish({
            status: 200,
            body: answer.body.slice(0, Math.max(1, Math.floor(answer.body.length / 2))),
          });
          return;
        case "rate_limit":
        case "error":
          break;
      }
    }
    finish(answer);
  }

  function processingBody(retryAfterMs: number): string {
    return JSON.stringify({
      type: "processing",
      id: randomUUID(),
      description: "Request accepted but not processed yet, retry after retry_after ms",
      retry_after: retryAfterMs,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Control API and pages.

  function renderOrThrowPayment(id: string): PaymentRecord {
    try {
      return state.getPayment(id);
    } catch (error) {
      if (error instanceof TransitionError) throw new ControlError(404, error.message);
      throw error;
    }
  }

  function control<T>(action: () => T): T {
    try {
      return action();
    } catch (error) {
      if (error instanceof TransitionError) throw new ControlError(error.notFound ? 404 : 409, error.message);
      throw error;
    }
  }

  const handle: FakeYooKassa = {
    get url() {
      return `${origin}/v3/`;
    },
    get origin() {
      return origin;
    },
    get controlUrl() {
      return `${origin}/__control/`;
    },
    get port() {
      return Number(new URL(origin).port);
    },
    close: async () => {
      shutdown.abort();
      notifier.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    pay: (id, payOptions) => control(() => state.renderPayment(state.pay(id, payOptions?.paymentMethodType))),
    decline: (id, reason = "insufficient_funds", party = "payment_network") =>
      control(() => state.renderPayment(state.decline(id, reason, party))),
    expire: (id) => control(() => state.renderPayment(state.expire(id))),
    completeRefund: (id) => control(() => state.renderRefund(state.completeRefund(id))),
    cancelRefund: (id, reason = "rejected_by_payee") =>
      control(() => state.renderRefund(state.cancelRefund(id, reason))),
    getPayment: (id) => {
      const payment = state.payments.get(id);
      return payment === undefined ? undefined : state.renderPayment(payment);
    },
    getRefund: (id) => {
      const refund = state.refunds.get(id);
      return refund === undefined ? undefined : state.renderRefund(refund);
    },
    listPayments: () => [...state.payments.values()].map((payment) => state.renderPayment(payment)),
    listRefunds: () => [...state.refunds.values()].map((refund) => state.renderRefund(refund)),
    injectFault: (endpoint, fault, times = 1) => {
      if (endpoint !== "*" && !FAKE_ENDPOINTS.includes(endpoint))
        throw new ControlError(400, `unknown endpoint ${String(endpoint)}`);
      if (!Number.isInteger(times) || times < 1 || faults.length + times > MAX_FAULTS) {
        throw new ControlError(400, `times must be 1–${String(MAX_FAULTS)} in total`);
      }
      for (let i = 0; i < times; i += 1) faults.push({ endpoint, fault });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    get pendingFaults() {
      return faults.map((entry) => ({ ...entry }));
    },
    get requests() {
      return [...requestLog];
    },
    setNotificationUrl: (url) => notifier.setUrl(url),
    queueNotificationQuirk: (quirk) => {
      try {
        notifier.queueQuirk(quirk);
      } catch (error) {
        if (error instanceof RangeError) throw new ControlError(400, error.message);
        throw error;
      }
    },
    holdNotifications: () => notifier.hold(),
    releaseNotifications: (order) => notifier.release(order),
    sendNotification: (sendOptions) => control(() => sendNotification(sendOptions)),
    get notifications() {
      return notifier.notifications;
    },
    get deliveries() {
      return notifier.deliveries;
    },
    notificationsSettled: (timeoutMs = 10_000) => notifier.idle(timeoutMs),
    reset: () => {
      state.clear();
      idempotence.clear();
      faults.length = 0;
      requestLog.length = 0;
      notifier.clear();
    },
  };

  function sendNotification(sendOptions: SendNotificationOptions): number {
    const { paymentId, refundId, event, forged = false, ...quirk } = sendOptions;
    if ((paymentId === undefined) === (refundId === undefined)) {
      throw new ControlError(400, "give exactly one of paymentId and refundId");
    }
    if (refundId !== undefined) {
      const refund = state.renderRefund(state.getRefund(refundId));
      return notifier.emit(event ?? "refund.succeeded", refund, { forged, quirk });
    }
    const current = state.renderPayment(state.getPayment(paymentId ?? ""));
    if (forged) {
      const claimed = event ?? "payment.succeeded";
      return notifier.emit(claimed, forgePayment(current, claimed), { forged: true, quirk });
    }
    const natural = {
      pending: undefined,
      waiting_for_capture: "payment.waiting_for_capture",
      succeeded: "payment.succeeded",
      canceled: "payment.canceled",
    }[current.status];
    const chosen = event ?? natural;
    if (chosen === undefined)
      throw new ControlError(409, "a pending payment has no notification; pass `event` or `forged`");
    return notifier.emit(chosen, current, { quirk });
  }

  function forgePayment(current: FakePaymentObject, event: string): FakePaymentObject {
    const { confirmation: _confirmation, cancellation_details: _details, ...rest } = current;
    const at = now().toISOString();
    switch (event) {
      case "payment.waiting_for_capture":
        return { ...rest, status: "waiting_for_capture", paid: true, refundable: false };
      case "payment.canceled":
        return {
          ...rest,
          status: "canceled",
          paid: false,
          refundable: false,
          cancellation_details: { party: "merchant", reason: "canceled_by_merchant" },
        };
      default:
        return {
          ...rest,
          status: "succeeded",
          paid: true,
          refundable: true,
          captured_at: at,
          income_amount: current.amount,
        };
    }
  }

  async function readControlInput(request: http.IncomingMessage): Promise<Record<string, unknown>> {
    const body = await readBody(request);
    if (!body.ok) throw new ControlError(413, "body larger than 1 MiB");
    if (body.text.trim() === "") return {};
    const type = request.headers["content-type"] ?? "";
    if (type.startsWith("application/x-www-form-urlencoded"))
      return Object.fromEntries(new URLSearchParams(body.text));
    const json = parseJson(body.text);
    if (!json.ok || typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) {
      throw new ControlError(400, "body must be a JSON object");
    }
    return json.value as Record<string, unknown>;
  }

  function optionalString(input: Record<string, unknown>, key: string): string | undefined {
    const value = input[key];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") throw new ControlError(400, `${key} must be a string`);
    return value;
  }

  async function handleControl(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    url: URL,
  ): Promise<void> {
    const method = request.method ?? "GET";
    const parts = url.pathname
      .split("/")
      .filter((part) => part !== "")
      .slice(1); // drop "__control"
    const input = method === "GET" ? {} : await readControlInput(request);
    const reply = (status: number, value: unknown): void =>
      send(response, { status, body: JSON.stringify(value) });
    const [first, second, third] = parts;

    if (first === "payments" && second !== undefined && method === "GET" && third === undefined) {
      reply(200, state.renderPayment(renderOrThrowPayment(second)));
      return;
    }
    if (first === "payments" && second !== undefined && method === "POST" && parts.length === 3) {
      let result: FakePaymentObject;
      if (third === "pay")
        result = handle.pay(second, {
          ...optionalOption("paymentMethodType", optionalString(input, "paymentMethodType")),
        });
      else if (third === "decline") {
        result = handle.decline(
          second,
          optionalString(input, "reason") ?? "insufficient_funds",
          optionalString(input, "party") ?? "payment_network",
        );
      } else if (third === "expire") result = handle.expire(second);
      else throw new ControlError(404, `unknown action ${String(third)}`);
      if (url.searchParams.get("redirect") === "1") {
        // From the checkout page: back to the shop, as YooKassa does after the payment page.
        response.writeHead(303, { Location: renderOrThrowPayment(second).returnUrl });
        response.end();
        return;
      }
      reply(200, result);
      return;
    }
    if (first === "refunds" && second !== undefined && method === "GET" && third === undefined) {
      const refund = handle.getRefund(second);
      if (refund === undefined) throw new ControlError(404, "no such refund");
      reply(200, refund);
      return;
    }
    if (
      first === "refunds" &&
      second !== undefined &&
      method === "POST" &&
      (third === "complete" || third === "cancel")
    ) {
      reply(
        200,
        third === "complete"
          ? handle.completeRefund(second)
          : handle.cancelRefund(second, optionalString(input, "reason")),
      );
      return;
    }
    if (first === "state" && method === "GET") {
      reply(200, { payments: handle.listPayments(), refunds: handle.listRefunds() });
      return;
    }
    if (first === "faults" && parts.length === 1) {
      if (method === "GET") reply(200, handle.pendingFaults);
      else if (method === "DELETE") {
        handle.clearFaults();
        reply(200, []);
      } else if (method === "POST") {
        const endpoint = input["endpoint"] ?? "*";
        const times = input["times"] ?? 1;
        if (typeof endpoint !== "string" || typeof times !== "number")
          throw new ControlError(400, "endpoint/times invalid");
        handle.injectFault(endpoint as FakeEndpoint | "*", checkFault(input["fault"]), times);
        reply(200, handle.pendingFaults);
      } else throw new ControlError(405, "GET, POST or DELETE");
      return;
    }
    if (first === "requests" && method === "GET") {
      reply(200, handle.requests);
      return;
    }
    if (first === "notifications" && parts.length === 1 && method === "GET") {
      reply(200, { notifications: handle.notifications, deliveries: handle.deliveries });
      return;
    }
    if (first === "notifications" && method === "POST" && parts.length === 2) {
      if (second === "send") reply(200, { id: handle.sendNotification(readSendOptions(input)) });
      else if (second === "quirks") {
        handle.queueNotificationQuirk(readQuirk(input));
        reply(200, {});
      } else if (second === "hold") {
        handle.holdNotifications();
        reply(200, {});
      } else if (second === "release") {
        reply(200, {
          released: handle.releaseNotifications(input["order"] === "reverse" ? "reverse" : "fifo"),
        });
      } else throw new ControlError(404, `unknown notifications action ${String(second)}`);
      return;
    }
    if (first === "notification-url" && (method === "PUT" || method === "POST")) {
      handle.setNotificationUrl(optionalString(input, "url"));
      reply(200, {});
      return;
    }
    if (first === "reset" && method === "POST") {
      handle.reset();
      reply(200, {});
      return;
    }
    throw new ControlError(404, `unknown control route ${method} ${url.pathname}`);
  }

  async function route(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake.invalid");
    const path = url.pathname;
    if (path.startsWith("/v3/")) {
      await handleApi(request, response, path, url.searchParams);
      return;
    }
    try {
      if (path.startsWith("/__control/")) {
        await handleControl(request, response, url);
        return;
      }
      if (path.startsWith("/checkout/") && request.method === "GET") {
        const id = decodeURIComponent(path.slice("/checkout/".length));
        const payment = renderOrThrowPayment(id);
        send(
          response,
          {
            status: 200,
            body: renderCheckoutPage(state.renderPayment(payment), payment.returnUrl, "/__control/"),
          },
          "text/html; charset=utf-8",
        );
        return;
      }
      if (path === "/" && request.method === "GET") {
        send(
          response,
          { status: 200, body: renderIndexPage(handle.listPayments()) },
          "text/html; charset=utf-8",
        );
        return;
      }
      throw new ControlError(404, "not found");
    } catch (error) {
      if (!(error instanceof ControlError)) throw error;
      send(response, { status: error.status, body: JSON.stringify({ error: error.message }) });
    }
  }

  const server = http.createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      // A bug in the fake: answer 500 and keep serving, with the reason for whoever debugs it.
      send(response, {
        status: 500,
        body: errorBody("internal_server_error", `fake failure: ${String(error)}`),
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  origin = `http://${hostForUrl}:${String(address.port)}`;
  return handle;
}

function readQuirk(input: Record<string, unknown>): QueuedQuirk {
  const text = (key: string): string | undefined => {
    const value = input[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw new ControlError(400, `${key} must be a string`);
    return value;
  };
  const count = (key: string, max: number): number | undefined => {
    const value = input[key];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
      throw new ControlError(400, `${key} must be an integer 0–${String(max)}`);
    }
    return value;
  };
  const foreign = input["fromForeignAddress"];
  if (foreign !== undefined && typeof foreign !== "boolean")
    throw new ControlError(400, "fromForeignAddress must be a boolean");
  const event = text("event");
  const forwardedFor = text("forwardedFor");
  const delayMs = count("delayMs", 600_000);
  const duplicates = count("duplicates", 10);
  return {
    ...(event === undefined ? {} : { event }),
    ...(forwardedFor === undefined ? {} : { forwardedFor }),
    ...(delayMs === undefined ? {} : { delayMs }),
    ...(duplicates === undefined ? {} : { duplicates }),
    ...(foreign === undefined ? {} : { fromForeignAddress: foreign }),
  };
}

function readSendOptions(input: Record<string, unknown>): SendNotificationOptions {
  const quirk = readQuirk(input);
  const id = (key: string): string | undefined => {
    const value = input[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw new ControlError(400, `${key} must be a string`);
    return value;
  };
  const paymentId = id("paymentId");
  const refundId = id("refundId");
  const forged = input["forged"];
  if (forged !== undefined && typeof forged !== "boolean")
    throw new ControlError(400, "forged must be a boolean");
  return {
    ...quirk,
    ...(paymentId === undefined ? {} : { paymentId }),
    ...(refundId === undefined ? {} : { refundId }),
    ...(forged === undefined ? {} : { forged }),
  };
}

function optionalOption<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export { DECLINE_REASONS };
