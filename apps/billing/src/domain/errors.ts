// The closed vocabulary of failures the domain can report. Each reason is mapped to a gRPC code in
// exactly one place (rpc/errors.ts) and mirrors billing.v1.ErrorReason in proto/billing/v1/errors.proto.

export const ERROR_REASONS = [
  "INVALID_FIELD",
  "UNKNOWN_OPERATION",
  "ACCOUNT_NOT_FOUND",
  "INSUFFICIENT_FUNDS",
  "IDEMPOTENCY_KEY_REUSED",
  "HOLD_NOT_FOUND",
  "HOLD_ALREADY_POSTED",
  "HOLD_ALREADY_VOIDED",
  "HOLD_EXPIRED",
  "AMOUNT_EXCEEDS_HOLD",
  "TRANSFER_NOT_FOUND",
  "ALREADY_REFUNDED",
  "NOT_REFUNDABLE",
  "PAYMENT_NOT_FOUND",
  "PAYMENT_STATE",
  "PROVIDER_UNAVAILABLE",
  "PROVIDER_REJECTED",
  "PAYMENT_MISMATCH",
  "CREDITS_ALREADY_SPENT",
  "UNKNOWN_METRIC",
  "UNKNOWN_PLAN",
  "QUOTA_EXCEEDED",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "UNAVAILABLE",
  "INTERNAL",
  "HOLD_MISMATCH",
  "TOO_MANY_LOTS",
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

export interface FieldViolation {
  /** The request field in proto (snake_case) notation, e.g. "user_ref". */
  readonly field: string;
  readonly description: string;
}

export interface InsufficientFundsDetail {
  readonly operation: string;
  readonly priceCredits: bigint;
  readonly creditsAvailable: bigint;
  readonly freeOperationsAvailable: bigint;
}

export interface QuotaViolation {
  readonly subject: string;
  readonly description: string;
}

export interface DomainErrorDetail {
  readonly fieldViolations?: readonly FieldViolation[];
  readonly insufficientFunds?: InsufficientFundsDetail;
  readonly quotaViolations?: readonly QuotaViolation[];
  /** Small string facts for ErrorInfo.metadata (never secrets). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A failure the caller can act on. Its message is safe to show to the calling service. */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly detail: DomainErrorDetail = {},
  ) {
    super(message);
  }
}

export function invalidFields(violations: readonly FieldViolation[]): DomainError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new DomainError("INVALID_FIELD", `invalid request: ${summary}`, { fieldViolations: violations });
}
