// Typed reads of method parameters, tolerant of the encodings the real server tolerates (numbers sent as
// strings, JSON sent as a string field) and failing with Bot API style 400s otherwise.
import { Errors, badRequest } from "./api-error.js";
import { isUpload } from "./http-body.js";
import type { Params, TgUploadedFile } from "./http-body.js";
import type { JsonValue } from "./types.js";

export function optString(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw badRequest(`field "${name}" must be of type String`);
}

export function reqString(p: Params, name: string): string {
  const v = optString(p, name);
  if (v === undefined || v === "") throw badRequest(`${name} is empty`);
  return v;
}

export function optInt(p: Params, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") return undefined;
  const n =
    typeof v === "number" ? v : typeof v === "string" && /^-?\d{1,16}$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`field "${name}" must be of type Integer`);
  return n;
}

export function reqInt(p: Params, name: string): number {
  const n = optInt(p, name);
  if (n === undefined) throw badRequest(`${name} is empty`);
  return n;
}

export function optNumber(p: Params, name: string): number | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw badRequest(`field "${name}" must be of type Number`);
  return n;
}

export function optBool(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") return undefined;
  if (v === true || v === "true" || v === 1 || v === "1") return true;
  if (v === false || v === "false" || v === 0 || v === "0") return false;
  throw badRequest(`field "${name}" must be of type Boolean`);
}

/** A JSON-typed field: an object/array in a JSON body, or a JSON string in a form. */
export function optJson(p: Params, name: string, unparsable: string): JsonValue | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") return undefined;
  if (isUpload(v)) throw badRequest(unparsable);
  if (typeof v === "string") {
    try {
      return JSON.parse(v) as JsonValue;
    } catch {
      throw badRequest(unparsable);
    }
  }
  return v;
}

/** chat_id of a private chat. "@username" targets only public chats and channels, which the fake has none of. */
export function reqChatId(p: Params): number {
  const v = p["chat_id"];
  if (v === undefined || v === null || v === "") throw badRequest("chat_id is empty");
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^-?\d{1,16}$/.test(v.trim())) return Number(v);
  throw Errors.chatNotFound();
}

/** A file field: an uploaded part, or a string (file_id, URL, or attach://<part>). */
export function fileInput(p: Params, name: string): TgUploadedFile | string {
  const v = p[name];
  if (isUpload(v)) return v;
  if (typeof v === "string" && v !== "") {
    const attached = /^attach:\/\/(.+)$/.exec(v)?.[1];
    if (attached !== undefined) {
      const part = p[attached];
      if (isUpload(part)) return part;
      throw Errors.wrongFileId();
    }
    return v;
  }
  throw badRequest(`there is no ${name} in the request`);
}

export function isRecord(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
