// The payments context's public face: rpc/ and server.ts import only this.
export { Payments, type PaymentsOptions } from "./payments.js";
export { NO_PLAN_PURCHASES, type PlanBought, type PlanPrice, type PlanPurchases } from "./plans.js";
export type { CreditBalance, CreditsPort } from "./ports.js";
export { yooKassaClientOf } from "./provider.js";
export {
  type AskedPurchase,
  CREATE_ABANDON_AFTER_MS,
  formatRubles,
  PAYMENTS_PAGE_SIZE_MAX,
  type PurchaseViolation,
} from "./rules.js";
export { verifyPayments } from "./store/invariants.js";
export type {
  CreateTopUpCommand,
  NotificationOutcomeCode,
  PaymentView,
  Purchase,
  RefundPaymentCommand,
  RefundView,
  StarsChargeCommand,
  SyncResult,
  TopUpOptions,
} from "./types.js";
export type {
  PaymentProviderCode,
  PaymentPurposeCode,
  PaymentStatusCode,
  RefundStatusCode,
} from "../domain/payment-codes.js";
