// @billing/yookassa: a typed YooKassa API v3 client on fetch, notification parsing and the sender check.
export {
  createYooKassaClient,
  DEFAULT_API_URL,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_MS,
  MAX_RESPONSE_BYTES,
  MIN_TIMEOUT_MS,
} from "./client.js";
export type { RetryEvent, YooKassaClient, YooKassaClientOptions } from "./client.js";
export { createRedactor, isYooKassaError, YooKassaError } from "./errors.js";
export type { YooKassaErrorInit, YooKassaErrorKind } from "./errors.js";
export {
  createIpMatcher,
  formatIp,
  isYooKassaAddress,
  parseCidr,
  parseIp,
  resolveClientIp,
  YOOKASSA_NOTIFICATION_CIDRS,
} from "./ip.js";
export type { Cidr, IpAddress, IpMatcher, ResolveClientIpInput } from "./ip.js";
export {
  formatAmountValue,
  fromWireAmount,
  isCurrencyCode,
  MAX_AMOUNT_MINOR,
  MoneyFormatError,
  parseAmountValue,
  toWireAmount,
} from "./money.js";
export type { CurrencyCode, MonetaryAmount, WireAmount } from "./money.js";
export {
  MAX_NOTIFICATION_BYTES,
  NotificationParseError,
  parseNotification,
  PAYMENT_NOTIFICATION_EVENTS,
  REFUND_NOTIFICATION_EVENTS,
} from "./notification.js";
export type { Notification, PaymentNotificationEvent, RefundNotificationEvent } from "./notification.js";
export { PAYMENT_STATUSES, REFUND_STATUSES } from "./types.js";
export type {
  CancellationDetails,
  Confirmation,
  CreatePaymentRequest,
  CreateRefundRequest,
  Metadata,
  Payment,
  PaymentMethod,
  PaymentStatus,
  Receipt,
  ReceiptCustomer,
  ReceiptItem,
  RedirectConfirmationRequest,
  Refund,
  RefundList,
  RefundListQuery,
  RefundStatus,
  VatCode,
} from "./types.js";
export { decodePayment, decodeRefund, LIMITS, MalformedWireError } from "./wire.js";
