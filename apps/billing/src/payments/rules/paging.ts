// ListPayments pages, pure: newest first, continued by an opaque token naming the last row seen.
import { invalidFields } from "../../domain/errors.js";

export const PAYMENTS_PAGE_SIZE_DEFAULT = 20;
export const PAYMENTS_PAGE_SIZE_MAX = 100;
/** Before every row. */
const NEWEST = 2n ** 63n - 1n;

export function encodePageToken(seq: bigint): string {
  return Buffer.from(`pseq:${seq}`).toString("base64url");
}

/** The sequence number the page starts before; INVALID_ARGUMENT for a token billing did not make. */
export function decodePageToken(token: string): bigint {
  if (token === "") return NEWEST;
  const match = /^pseq:(\d{1,19})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (match?.[1] === undefined) {
    throw invalidFields([
      { field: "page_token", description: "malformed; pass next_page_token from a previous response" },
    ]);
  }
  return BigInt(match[1]);
}
