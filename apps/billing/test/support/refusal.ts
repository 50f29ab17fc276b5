// What a refused call answered, as the tests compare it: the gRPC code's name, the ErrorInfo reason
// and the BadRequest's field violations (field → description). No I/O of its own.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason, fieldViolations } from "@billing/client";

export interface Refusal {
  code: string;
  reason: string | undefined;
  fields: Record<string, string>;
}

/** Awaits a call that must be refused; a call that succeeds fails the test here. */
export async function refusalOf(call: Promise<unknown>): Promise<Refusal> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) throw new Error("expected the call to be refused, but it succeeded");
  return {
    code: Code[ConnectError.from(error).code],
    reason: errorReason(error),
    fields: fieldViolations(error),
  };
}
