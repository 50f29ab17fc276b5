// Request bodies the way the Bot API accepts them: query string, urlencoded, JSON or multipart/form-data
// (with file parts). Bodies are read with a hard size limit; multipart is parsed by the platform's
// own Request.formData() on the already bounded buffer, so no parser of our own touches raw bytes.
import type { IncomingMessage } from "node:http";
import type { ReadableStreamReadResult } from "node:stream/web";
import { badRequest } from "./api-error.js";
import type { JsonValue } from "./types.js";

/** A file part of a multipart request, kept byte-exact. A class, so JSON input can never pass for one. */
export class TgUploadedFile {
  readonly field: string;
  readonly filename: string;
  /** As sent; undici reports "text/plain" when the part had no content-type (telegraf never sets one). */
  readonly contentType: string;
  readonly bytes: Buffer;

  constructor(field: string, filename: string, contentType: string, bytes: Buffer) {
    this.field = field;
    this.filename = filename;
    this.contentType = contentType;
    this.bytes = bytes;
  }

  /** What recorded calls and the control API show instead of the bytes. */
  toJSON(): { upload: string; filename: string; size: number } {
    return { upload: this.field, filename: this.filename, size: this.bytes.length };
  }
}

export type ParamValue = JsonValue | TgUploadedFile;
export type Params = Record<string, ParamValue>;

export function isUpload(value: ParamValue | undefined): value is TgUploadedFile {
  return value instanceof TgUploadedFile;
}

// Form and query values are strings on the wire; these fields are decoded so recorded calls read the
// same whichever encoding the client chose. Handlers still accept either form.
const JSON_FIELDS = new Set([
  "reply_markup",
  "entities",
  "caption_entities",
  "allowed_updates",
  "commands",
  "scope",
  "prices",
  "reply_parameters",
  "link_preview_options",
  "media",
  "results",
  "suggested_tip_amounts",
]);
const INTEGER_FIELDS = new Set([
  "chat_id",
  "message_id",
  "user_id",
  "offset",
  "limit",
  "timeout",
  "reply_to_message_id",
  "max_connections",
  "cache_time",
  "message_thread_id",
  "from_chat_id",
  "max_tip_amount",
]);
const BOOLEAN_FIELDS = new Set([
  "drop_pending_updates",
  "show_alert",
  "ok",
  "disable_notification",
  "protect_content",
  "disable_web_page_preview",
  "allow_sending_without_reply",
  "has_spoiler",
  "is_flexible",
  "disable_content_type_detection",
  "show_caption_above_media",
]);

function decodeFormValue(key: string, value: string): JsonValue {
  if (JSON_FIELDS.has(key)) {
    try {
      return JSON.parse(value) as JsonValue;
    } catch {
      return value; // the handler reports the field as unparsable
    }
  }
  if (INTEGER_FIELDS.has(key) && /^-?\d{1,16}$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  if (BOOLEAN_FIELDS.has(key) && (value === "true" || value === "false")) return value === "true";
  return value;
}

export class BodyTooLargeError extends Error {
  constructor(limitBytes: number) {
    super(`request body exceeds ${limitBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Reads an incoming body, refusing anything above limitBytes (also checked against content-length). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limitBytes) throw new BodyTooLargeError(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new BodyTooLargeError(limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Reads a fetch() response body with the same bound. */
export async function readResponseBody(res: Response, limitBytes: number): Promise<Buffer> {
  if (res.body === null) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
    if (done) break;
    size += value.length;
    if (size > limitBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Merges query-string parameters with the body's (the body wins, as on the real server).
 * Throws a 400 TelegramApiError for a body that does not parse.
 */
export async function parseParams(
  contentType: string | undefined,
  body: Buffer,
  query: URLSearchParams,
): Promise<Params> {
  const params: Params = {};
  for (const [key, value] of query) params[key] = decodeFormValue(key, value);
  if (body.length === 0) return params;
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/json") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw badRequest("can't parse JSON object");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw badRequest("can't parse JSON object");
    }
    Object.assign(params, parsed as Record<string, JsonValue>);
    return params;
  }
  if (type === "application/x-www-form-urlencoded") {
    for (const [key, value] of new URLSearchParams(body.toString("utf8")))
      params[key] = decodeFormValue(key, value);
    return params;
  }
  if (type === "multipart/form-data" && contentType !== undefined) {
    let form: FormData;
    try {
      form = await new Request("http://fake.invalid/", {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      }).formData();
    } catch {
      throw badRequest("can't parse multipart/form-data request");
    }
    for (const [key, value] of form) {
      if (typeof value === "string") {
        params[key] = decodeFormValue(key, value);
      } else {
        params[key] = new TgUploadedFile(key, value.name, value.type, Buffer.from(await value.arrayBuffer()));
      }
    }
    return params;
  }
  // Unknown content types are ignored by the real server: only the query string counts.
  return params;
}
