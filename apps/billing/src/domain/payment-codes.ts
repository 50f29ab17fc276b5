// The payments' closed vocabularies, shared by the rules, the store and the entities. No I/O.

export const PAYMENT_STATUSES = [
  "CREATING",
  "PENDING",
  "WAITING_FOR_CAPTURE",
  "SUCCEEDED",
  "CANCELED",
] as const;
export type PaymentStatusCode = (typeof PAYMENT_STATUSES)[number];

export const REFUND_STATUSES = ["CREATING", "PENDING", "SUCCEEDED", "CANCELED"] as const;
export type RefundStatusCode = (typeof REFUND_STATUSES)[number];

export const PAYMENT_PURPOSES = ["CREDITS", "PLAN"] as const;
export type PaymentPurposeCode = (typeof PAYMENT_PURPOSES)[number];

export const PAYMENT_PROVIDERS = ["YOOKASSA", "TELEGRAM_STARS"] as const;
export type PaymentProviderCode = (typeof PAYMENT_PROVIDERS)[number];
