// Idempotency keys in two namespaces. Callers send keys of printable ASCII without spaces; keys the
// service derives itself (a plan activation per order, a quota debit per caller reference) are
// stored behind a prefix that contains a space, so no caller key can ever spell one of them.

/** Printable ASCII without spaces, 1-128 characters: every key a caller may send. */
export const CALLER_KEY = /^[\x21-\x7e]{1,128}$/;

const DERIVED_PREFIX = "derived ";

export interface CommandKey {
  /** The text stored under the primary key of idempotency_keys. */
  readonly stored: string;
  /** What to show the caller in an error (their own key, or the derived one without its prefix). */
  readonly shown: string;
}

export function callerKey(key: string): CommandKey {
  // The edge validates this already; the assertion keeps the namespaces apart whatever the caller.
  if (!CALLER_KEY.test(key))
    throw new Error(`invariant: caller key ${JSON.stringify(key)} is not printable ASCII`);
  return { stored: key, shown: key };
}

/** A key the service derives, e.g. derivedKey("quota:add", orderId). */
export function derivedKey(kind: string, ...parts: string[]): CommandKey {
  const shown = [kind, ...parts].join(":");
  return { stored: `${DERIVED_PREFIX}${shown}`, shown };
}
