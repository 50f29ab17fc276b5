// Reading billing's rich errors: the stable ErrorInfo reason and typed details.
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { InsufficientFundsSchema, type InsufficientFunds } from "@billing/proto/billing/v1/errors_pb";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  QuotaFailureSchema,
} from "@billing/proto/google/rpc/error_details_pb";

/** The billing ErrorInfo reason of an error (e.g. "INSUFFICIENT_FUNDS"), if it carries one. */
export function errorReason(error: unknown): string | undefined {
  return detail(error, ErrorInfoSchema)?.reason;
}

export function detail<Desc extends DescMessage>(
  error: unknown,
  schema: Desc,
): MessageShape<Desc> | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  return error.findDetails(schema)[0];
}

export function insufficientFunds(error: unknown): InsufficientFunds | undefined {
  return detail(error, InsufficientFundsSchema);
}

/** Field → description of an INVALID_ARGUMENT error. */
export function fieldViolations(error: unknown): Record<string, string> {
  const badRequest = detail(error, BadRequestSchema);
  return Object.fromEntries((badRequest?.fieldViolations ?? []).map((v) => [v.field, v.description]));
}

export function quotaFailure(error: unknown) {
  return detail(error, QuotaFailureSchema);
}
