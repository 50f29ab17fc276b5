// PaymentService handlers: validate, call the payments domain, map the answer to proto. Nothing else.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type CreateTopUpRequest,
  NotificationOutcome,
  PaymentProvider,
  PaymentPurpose,
  type PaymentRefundSchema,
  type PaymentSchema,
  type PaymentService,
  PaymentStatus,
  RefundStatus,
} from "@billing/proto/billing/v1/payments_pb";
import {
  type AskedPurchase,
  type CreateTopUpCommand,
  type NotificationOutcomeCode,
  PAYMENTS_PAGE_SIZE_MAX,
  type PaymentProviderCode,
  type PaymentPurposeCode,
  type Payments,
  type PaymentStatusCode,
  type PaymentView,
  type Purchase,
  type RefundStatusCode,
  type RefundView,
} from "../payments/index.js";
import { validate, type Validator } from "./validate.js";

export interface PaymentsDeps {
  readonly payments: Payments;
}

// Deliberately simple: one @, no spaces, a dot in the domain. YooKassa checks the rest.
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,190}\.[^\s@.]{2,63}$/;
const PHONE = /^\+?[0-9]{11,15}$/;
const EVENT = /^[a-z][a-z_]{0,63}(\.[a-z][a-z_]{0,63}){1,3}$/;
const PROVIDER_OBJECT_ID = /^[0-9A-Za-z_-]{1,64}$/;
const RETURN_URL_MAX = 2048;
const REFUND_REASON_MAX = 250;
/** Telegram's invoice payload is 1-128 bytes; billing's are payment ids. */
const INVOICE_PAYLOAD_MAX = 128;
const CHARGE_ID = /^[\x21-\x7e]{1,256}$/;
const TELEGRAM_USER_REF = /^telegram:\d{1,16}$/;

/** `deps` is read on each call: it becomes available once the database is ready. */
export function paymentService(deps: PaymentsDeps): ServiceImpl<typeof PaymentService> {
  return {
    listTopUpOptions() {
      const options = deps.payments.topUpOptions();
      return {
        packages: options.packages,
        customMinAmountMinor: options.customMinAmountMinor,
        customMaxAmountMinor: options.customMaxAmountMinor,
        currency: options.currency,
        receiptRequired: options.receiptRequired,
        starsPackages: options.starsPackages,
        ...(options.starsRate === undefined ? {} : { starsRate: options.starsRate }),
      };
    },

    async createTopUp(request) {
      const command = createTopUpCommandOf(request, deps.payments);
      const payment = await deps.payments.createTopUp(command);
      const invoice = payment.starsInvoice;
      return {
        payment: toPayment(payment),
        confirmationUrl: payment.confirmationUrl,
        ...(invoice === undefined ? {} : { starsInvoice: invoice }),
      };
    },

    async checkStarsPayment(request) {
      const order = validate((v) => starsOrderOf(v, request));
      return { payment: toPayment(await deps.payments.checkStarsPayment(order)) };
    },

    async completeStarsPayment(request) {
      const charge = validate((v) => ({
        ...starsOrderOf(v, request),
        telegramPaymentChargeId: chargeIdOf(
          v,
          "telegram_payment_charge_id",
          request.telegramPaymentChargeId,
          true,
        ),
        providerPaymentChargeId: chargeIdOf(
          v,
          "provider_payment_charge_id",
          request.providerPaymentChargeId,
          false,
        ),
      }));
      const result = await deps.payments.completeStarsPayment(charge);
      return {
        outcome: OUTCOME[result.outcome],
        ...(result.payment === undefined ? {} : { payment: toPayment(result.payment) }),
      };
    },

    async getPayment(request) {
      const paymentId = validate((v) => v.uuid("payment_id", request.paymentId));
      return { payment: toPayment(await deps.payments.getPayment(paymentId)) };
    },

    async listPayments(request) {
      const query = validate((v) => ({
        userRef: v.userRef("user_ref", request.userRef),
        pageSize: v.pageSize("page_size", request.pageSize, PAYMENTS_PAGE_SIZE_MAX),
        pageToken: v.text("page_token", request.pageToken, { max: 128, required: false }),
      }));
      const page = await deps.payments.listPayments(query);
      return { payments: page.payments.map(toPayment), nextPageToken: page.nextPageToken };
    },

    async handleNotification(request) {
      const notification = validate((v) => {
        v.check(EVENT.test(request.event), "event", "must be a YooKassa event name like payment.succeeded");
        v.check(
          PROVIDER_OBJECT_ID.test(request.objectId),
          "object_id",
          "must be a YooKassa object id (1-64 of [0-9A-Za-z_-])",
        );
        return { event: request.event, objectId: request.objectId };
      });
      const result = await deps.payments.handleNotification(notification);
      return {
        outcome: OUTCOME[result.outcome],
        ...(result.payment === undefined ? {} : { payment: toPayment(result.payment) }),
      };
    },

    async syncPayment(request) {
      const paymentId = validate((v) => v.uuid("payment_id", request.paymentId));
      const result = await deps.payments.syncPayment(paymentId);
      return {
        outcome: OUTCOME[result.outcome],
        ...(result.payment === undefined ? {} : { payment: toPayment(result.payment) }),
      };
    },

    async refundPayment(request) {
      const command = validate((v) => ({
        paymentId: v.uuid("payment_id", request.paymentId),
        amountMinor: v.nonNegative("amount_minor", request.amountMinor),
        reason: v.text("reason", request.reason, { max: REFUND_REASON_MAX, required: true }),
        idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
        force: request.force,
      }));
      const result = await deps.payments.refundPayment(command);
      return { refund: toRefund(result.refund), payment: toPayment(result.payment) };
    },
  };
}

/** The order of a pre_checkout_query or successful_payment (the amount is checked by billing). */
function starsOrderOf(
  v: Validator,
  request: { userRef: string; invoicePayload: string; currency: string; totalAmount: bigint },
) {
  v.check(TELEGRAM_USER_REF.test(request.userRef), "user_ref", "must be telegram:<user id> of the payer");
  v.check(
    request.invoicePayload !== "" && Buffer.byteLength(request.invoicePayload) <= INVOICE_PAYLOAD_MAX,
    "invoice_payload",
    `must be 1-${INVOICE_PAYLOAD_MAX} bytes, as Telegram sent it`,
  );
  v.check(/^[A-Z]{3}$/.test(request.currency), "currency", "must be a currency code such as XTR");
  return {
    userRef: request.userRef,
    invoicePayload: request.invoicePayload,
    currency: request.currency,
    totalAmount: v.positive("total_amount", request.totalAmount),
  };
}

function chargeIdOf(v: Validator, field: string, value: string, required: boolean): string {
  v.check((!required && value === "") || CHARGE_ID.test(value), field, "must be 1-256 printable characters");
  return value;
}

/** CreateTopUp's fields, every violation at once (receipts and the return URL per configuration). */
function createTopUpCommandOf(request: CreateTopUpRequest, payments: Payments): CreateTopUpCommand {
  const config = payments.config;
  if (request.provider === PaymentProvider.TELEGRAM_STARS) return starsTopUpCommandOf(request, payments);
  return validate((v) => {
    v.check(
      request.provider === PaymentProvider.UNSPECIFIED || request.provider === PaymentProvider.YOOKASSA,
      "provider",
      "must be YOOKASSA or TELEGRAM_STARS",
    );
    const email = request.customerEmail.trim();
    const phone = request.customerPhone.trim();
    v.check(
      email === "" || (email.length <= 254 && EMAIL.test(email)),
      "customer_email",
      "must be an email address like name@example.com",
    );
    v.check(
      phone === "" || PHONE.test(phone),
      "customer_phone",
      "must be 11-15 digits in international format, e.g. 79001234567",
    );
    if (config.receipts !== undefined) {
      v.check(
        email !== "" || phone !== "",
        "customer_email",
        "a receipt contact is required (54-FZ): set customer_email or customer_phone",
      );
    }
    v.check(
      request.returnUrl !== "" || config.returnUrl !== undefined,
      "return_url",
      "is required (no default return URL is configured)",
    );
    v.check(
      request.returnUrl === "" || isHttpUrl(request.returnUrl),
      "return_url",
      `must be an http(s) URL of at most ${RETURN_URL_MAX} characters`,
    );
    return {
      userRef: v.userRef("user_ref", request.userRef),
      purchase: purchaseOf(v, request.purchase, payments),
      idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
      returnUrl: request.returnUrl,
      customerEmail: email,
      customerPhone: phone.replace(/^\+/, ""),
    };
  });
}

/** A Stars package for a Telegram user; no return URL or receipt contact (Telegram handles both). */
function starsTopUpCommandOf(request: CreateTopUpRequest, payments: Payments): CreateTopUpCommand {
  return validate((v) => {
    const userRef = v.userRef("user_ref", request.userRef);
    v.check(
      TELEGRAM_USER_REF.test(userRef),
      "user_ref",
      "must be telegram:<user id>: only they pay with Stars",
    );
    let purchase: Purchase = { kind: "amount", amountMinor: 0n, credits: 0n };
    if (request.purchase.case !== "packageCode") {
      v.check(
        false,
        "package_code",
        "Stars are bought by package_code (a Stars package from ListTopUpOptions)",
      );
    } else {
      const resolved = payments.resolvePurchase({ kind: "stars", packageCode: request.purchase.value });
      if ("purchase" in resolved) purchase = resolved.purchase;
      else v.check(false, resolved.violation.field, resolved.violation.description);
    }
    return {
      userRef,
      purchase,
      idempotencyKey: v.idempotencyKey("idempotency_key", request.idempotencyKey),
      returnUrl: "",
      customerEmail: "",
      customerPhone: "",
    };
  });
}

/** Exactly one of package_code, amount_minor, plan_code; the payments catalogue resolves it. */
function purchaseOf(v: Validator, purchase: CreateTopUpRequest["purchase"], payments: Payments): Purchase {
  const asked = askedPurchaseOf(v, purchase);
  if (asked === undefined) return { kind: "amount", amountMinor: 0n, credits: 0n };
  const resolved = payments.resolvePurchase(asked);
  if ("purchase" in resolved) return resolved.purchase;
  v.check(false, resolved.violation.field, resolved.violation.description);
  return { kind: "amount", amountMinor: 0n, credits: 0n };
}

function askedPurchaseOf(v: Validator, purchase: CreateTopUpRequest["purchase"]): AskedPurchase | undefined {
  switch (purchase.case) {
    case "packageCode":
      return { kind: "package", packageCode: purchase.value };
    case "amountMinor":
      return { kind: "amount", amountMinor: purchase.value };
    case "planCode":
      return { kind: "plan", planCode: v.name("plan_code", purchase.value) };
    case undefined:
      v.check(false, "package_code", "set one of package_code, amount_minor or plan_code");
      return undefined;
  }
}

function isHttpUrl(text: string): boolean {
  if (text.length > RETURN_URL_MAX) return false;
  const url = URL.parse(text);
  return url !== null && (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "";
}

const STATUS: Readonly<Record<PaymentStatusCode, PaymentStatus>> = {
  CREATING: PaymentStatus.CREATING,
  PENDING: PaymentStatus.PENDING,
  WAITING_FOR_CAPTURE: PaymentStatus.WAITING_FOR_CAPTURE,
  SUCCEEDED: PaymentStatus.SUCCEEDED,
  CANCELED: PaymentStatus.CANCELED,
};

const PROVIDER: Readonly<Record<PaymentProviderCode, PaymentProvider>> = {
  YOOKASSA: PaymentProvider.YOOKASSA,
  TELEGRAM_STARS: PaymentProvider.TELEGRAM_STARS,
};

const PURPOSE: Readonly<Record<PaymentPurposeCode, PaymentPurpose>> = {
  CREDITS: PaymentPurpose.CREDITS,
  PLAN: PaymentPurpose.PLAN,
};

const REFUND_STATUS: Readonly<Record<RefundStatusCode, RefundStatus>> = {
  CREATING: RefundStatus.CREATING,
  PENDING: RefundStatus.PENDING,
  SUCCEEDED: RefundStatus.SUCCEEDED,
  CANCELED: RefundStatus.CANCELED,
};

const OUTCOME: Readonly<Record<NotificationOutcomeCode, NotificationOutcome>> = {
  APPLIED: NotificationOutcome.APPLIED,
  UNCHANGED: NotificationOutcome.UNCHANGED,
  IGNORED: NotificationOutcome.IGNORED,
};

function toPayment(payment: PaymentView): MessageInitShape<typeof PaymentSchema> {
  return {
    paymentId: payment.paymentId,
    provider: PROVIDER[payment.provider],
    providerPaymentId: payment.providerPaymentId,
    userRef: payment.userRef,
    status: STATUS[payment.status],
    purpose: PURPOSE[payment.purpose],
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    credits: payment.credits,
    planCode: payment.planCode,
    packageCode: payment.packageCode,
    confirmationUrl: payment.confirmationUrl,
    cancellationParty: payment.cancellationParty,
    cancellationReason: payment.cancellationReason,
    refundedAmountMinor: payment.refundedAmountMinor,
    test: payment.test,
    createdAt: timestampFromDate(payment.createdAt),
    updatedAt: timestampFromDate(payment.updatedAt),
    ...(payment.creditedAt === undefined ? {} : { creditedAt: timestampFromDate(payment.creditedAt) }),
  };
}

function toRefund(refund: RefundView): MessageInitShape<typeof PaymentRefundSchema> {
  return {
    refundId: refund.refundId,
    providerRefundId: refund.providerRefundId,
    paymentId: refund.paymentId,
    status: REFUND_STATUS[refund.status],
    amountMinor: refund.amountMinor,
    creditsReversed: refund.creditsReversed,
    reason: refund.reason,
    createdAt: timestampFromDate(refund.createdAt),
  };
}
