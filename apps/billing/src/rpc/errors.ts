// The one module that turns domain failures into wire errors: a gRPC code, a google.rpc.ErrorInfo
// (domain "billing.v1", stable reason) and typed details. Anything else becomes INTERNAL with no
// internals in the message.
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { InsufficientFundsSchema } from "@billing/proto/billing/v1/errors_pb";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  QuotaFailureSchema,
  RetryInfoSchema,
} from "@billing/proto/google/rpc/error_details_pb";
import { databaseUnavailable, isConnectionFailure } from "../db/connection-errors.js";
import { DomainError, type ErrorReason } from "../domain/errors.js";

export const ERROR_DOMAIN = "billing.v1";

const CODE_OF: Readonly<Record<ErrorReason, Code>> = {
  INVALID_FIELD: Code.InvalidArgument,
  UNKNOWN_OPERATION: Code.InvalidArgument,
  AMOUNT_EXCEEDS_HOLD: Code.InvalidArgument,
  UNKNOWN_METRIC: Code.InvalidArgument,
  UNKNOWN_PLAN: Code.InvalidArgument,
  ACCOUNT_NOT_FOUND: Code.NotFound,
  HOLD_NOT_FOUND: Code.NotFound,
  TRANSFER_NOT_FOUND: Code.NotFound,
  PAYMENT_NOT_FOUND: Code.NotFound,
  IDEMPOTENCY_KEY_REUSED: Code.AlreadyExists,
  INSUFFICIENT_FUNDS: Code.FailedPrecondition,
  HOLD_ALREADY_POSTED: Code.FailedPrecondition,
  HOLD_ALREADY_VOIDED: Code.FailedPrecondition,
  HOLD_EXPIRED: Code.FailedPrecondition,
  HOLD_MISMATCH: Code.FailedPrecondition,
  ALREADY_REFUNDED: Code.FailedPrecondition,
  NOT_REFUNDABLE: Code.FailedPrecondition,
  PAYMENT_STATE: Code.FailedPrecondition,
  PROVIDER_REJECTED: Code.FailedPrecondition,
  PAYMENT_MISMATCH: Code.FailedPrecondition,
  CREDITS_ALREADY_SPENT: Code.FailedPrecondition,
  QUOTA_EXCEEDED: Code.ResourceExhausted,
  TOO_MANY_LOTS: Code.ResourceExhausted,
  PROVIDER_UNAVAILABLE: Code.Unavailable,
  UNAVAILABLE: Code.Unavailable,
  UNAUTHENTICATED: Code.Unauthenticated,
  PERMISSION_DENIED: Code.PermissionDenied,
  INTERNAL: Code.Internal,
};

export function codeOf(reason: ErrorReason): Code {
  return CODE_OF[reason];
}

/** A ConnectError carrying ErrorInfo and the typed details of a DomainError. */
export function toConnectError(error: DomainError): ConnectError {
  const { detail } = error;
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    {
      desc: ErrorInfoSchema,
      value: { reason: error.reason, domain: ERROR_DOMAIN, metadata: { ...detail.metadata } },
    },
  ];
  if (detail.fieldViolations !== undefined && detail.fieldViolations.length > 0) {
    details.push({
      desc: BadRequestSchema,
      value: {
        fieldViolations: detail.fieldViolations.map((v) => ({ field: v.field, description: v.description })),
      },
    });
  }
  if (detail.insufficientFunds !== undefined) {
    details.push({
      desc: InsufficientFundsSchema,
      value: create(InsufficientFundsSchema, detail.insufficientFunds),
    });
  }
  if (detail.quotaViolations !== undefined) {
    details.push({ desc: QuotaFailureSchema, value: { violations: [...detail.quotaViolations] } });
  }
  const code = CODE_OF[error.reason];
  if (code === Code.Unavailable) {
    const delayMs = RETRY_DELAY_MS[detail.metadata?.cause ?? ""] ?? RETRY_DELAY_DEFAULT_MS;
    details.push({ desc: RetryInfoSchema, value: { retryDelay: durationFromMs(delayMs) } });
  }
  return new ConnectError(error.message, code, undefined, details);
}

/** How long a caller should wait before retrying an UNAVAILABLE call, by its ErrorInfo `cause`. */
const RETRY_DELAY_MS: Readonly<Record<string, number>> = {
  overloaded: 100,
  not_ready: 500,
  database: 500,
};
const RETRY_DELAY_DEFAULT_MS = 250;

/**
 * Maps anything thrown by a handler to what goes on the wire. ConnectErrors raised by the framework
 * (deadline, cancel, malformed message) pass through; unknown errors lose their message.
 */
export function toWireError(error: unknown): { wire: ConnectError; unexpected: boolean } {
  if (error instanceof DomainError) return { wire: toConnectError(error), unexpected: false };
  // Reads outside a transaction meet a dropped connection raw; it is an outage, not a bug.
  if (isConnectionFailure(error))
    return { wire: toConnectError(databaseUnavailable(false)), unexpected: false };
  if (error instanceof ConnectError)
    return { wire: error, unexpected: error.code === Code.Internal || error.code === Code.Unknown };
  return {
    wire: toConnectError(
      new DomainError(
        "INTERNAL",
        "internal error; the server log has the details under this call's request id",
      ),
    ),
    unexpected: true,
  };
}
