// How a failure of the connection to PostgreSQL is told apart from a failure of a statement, and
// what the caller is told: UNAVAILABLE, with whether the transaction may have committed. Shared by
// the stores and by rpc/ (which maps errors to the wire and watches the database's health).
import { ConnectionException } from "@mikro-orm/postgresql";
import { DomainError } from "../domain/errors.js";

/** SQLSTATEs of a lost or refused connection: class 08, server shutting down or starting, too many clients. */
const CONNECTION_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const CONNECTION_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/** pg and pg-pool report a dropped socket or a connect timeout with a plain Error and these words. */
const CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed/i;

/**
 * True for failures of the connection to PostgreSQL rather than of the statement: the caller may
 * retry (every mutation is idempotent by its key). Looks through MikroORM's wrapping to the driver.
 */
export function isConnectionFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof ConnectionException) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code)))
      return true;
    if (CONNECTION_MESSAGE.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}

/** The database connection failed: nothing was committed, or (`outcomeUnknown`) we cannot tell. */
export function databaseUnavailable(outcomeUnknown: boolean): DomainError {
  return new DomainError(
    "UNAVAILABLE",
    outcomeUnknown
      ? "the database connection failed while committing; retry with the same idempotency key"
      : "the database is unreachable; retry shortly",
    { metadata: { cause: "database", outcome: outcomeUnknown ? "unknown" : "not_committed" } },
  );
}

/** Connection errors may quote the URL; keep the reason and code, drop any password. */
export function redactConnectionError(error: unknown): { message: string; code?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  return {
    message: message.replace(/(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/gi, "$1***@"),
    ...(typeof code === "string" ? { code } : {}),
  };
}
