// The ledger's closed vocabularies, shared by the rules, the stores and the entities. No I/O.

export const ASSETS = ["CREDITS", "FREE_OPERATIONS"] as const;
export type AssetCode = (typeof ASSETS)[number];

export const TRANSFER_KINDS = [
  "STARTER_GRANT",
  "GRANT",
  "CHARGE",
  "HOLD",
  "HOLD_POSTED",
  "HOLD_VOIDED",
  "HOLD_EXPIRED",
  "REFUND",
  "TOP_UP",
  "PAYMENT_REFUND",
  "CREDITS_EXPIRED",
] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

export const FUNDING_SOURCES = ["NONE", "FREE_OPERATION", "CREDITS"] as const;
export type FundingSourceCode = (typeof FUNDING_SOURCES)[number];

export const HOLD_STATES = ["PENDING", "POSTED", "VOIDED", "EXPIRED"] as const;
export type HoldStateCode = (typeof HOLD_STATES)[number];

export const LOT_STATES = ["ACTIVE", "EXPIRED"] as const;
export type LotStateCode = (typeof LOT_STATES)[number];

export const ACCOUNT_KINDS = ["USER", "SYSTEM"] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
