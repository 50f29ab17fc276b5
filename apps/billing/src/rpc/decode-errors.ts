// connect-es answers a request body that is not a valid protobuf message (or a compressed envelope
// without an encoding) with INTERNAL ("parse binary: …"), which is HTTP 500 over Connect and looks
// like a server bug. The caller sent it, so it is INVALID_ARGUMENT with a reason.
//
// The framework raises that error before any interceptor runs, and aborts the call's signal with it
// just before writing it to the wire; the request gate listens to that signal and corrects the error
// here, in place, for every protocol at once. edges/fuzz.test.ts holds this to account: if a
// connect-es upgrade changes the order, random bodies get INTERNAL again and the test fails.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@billing/proto/google/rpc/error_details_pb";
import { ERROR_DOMAIN } from "./errors.js";

/** Messages connect-es gives, with code INTERNAL, to request bodies it cannot decode. */
const REQUEST_DECODING_FAILURES = [
  /^parse binary: /,
  /^received compressed envelope, but do not know how to decompress$/,
  /^decompression failed$/,
];

/**
 * If `reason` is connect-es' INTERNAL for an undecodable request, turns it into INVALID_ARGUMENT
 * (ErrorInfo reason INVALID_FIELD, metadata cause=undecodable) and returns what was wrong.
 */
export function reclassifyDecodeError(reason: unknown): string | undefined {
  if (!(reason instanceof ConnectError) || reason.code !== Code.Internal || reason.details.length > 0)
    return undefined;
  const raw = reason.rawMessage;
  if (!REQUEST_DECODING_FAILURES.some((pattern) => pattern.test(raw))) return undefined;
  const message = `the request message could not be decoded (${raw})`;
  const mutable = reason as { -readonly [K in keyof ConnectError]: ConnectError[K] };
  mutable.code = Code.InvalidArgument;
  mutable.rawMessage = message;
  mutable.message = `[invalid_argument] ${message}`;
  mutable.details.push({
    desc: ErrorInfoSchema,
    value: { reason: "INVALID_FIELD", domain: ERROR_DOMAIN, metadata: { cause: "undecodable" } },
  });
  return raw;
}
