// The HTTP control API under /__control/, so a person (curl) or a script can play users against a
// locally running bot. It is a thin mapping onto FakeTelegram's methods; see README.md.
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLargeError, readBody } from "./http-body.js";
import type { FakeTelegram } from "./fake-telegram.js";
import type { TgFailure } from "./failures.js";
import type { TgUpdate } from "./types.js";

const MAX_CONTROL_BODY_BYTES = 25 * 1024 * 1024;

class ControlError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ControlError(400, "body must be JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ControlError(400, "body must be a JSON object");
  return parsed as Record<string, unknown>;
}

function str(v: unknown, name: string): string {
  if (typeof v !== "string") throw new ControlError(400, `${name} must be a string`);
  return v;
}

function optStr(v: unknown, name: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, name);
}

function int(v: unknown, name: string): number {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n))
    throw new ControlError(400, `${name} must be an integer`);
  return n;
}

/** Raw bytes, or JSON {"base64": "..."} (handy from scripts). */
function fileBytes(req: IncomingMessage, body: Buffer): { bytes: Buffer; json: Record<string, unknown> } {
  if ((req.headers["content-type"] ?? "").startsWith("application/json")) {
    const json = jsonBody(body);
    return { bytes: Buffer.from(str(json["base64"], "base64"), "base64"), json };
  }
  return { bytes: body, json: {} };
}

export async function handleControl(
  fake: FakeTelegram,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  try {
    const body = await readBody(req, MAX_CONTROL_BODY_BYTES);
    const result = await route(fake, req, url, body, res);
    if (result !== NO_JSON) send(res, 200, { ok: true, result });
  } catch (error) {
    if (error instanceof ControlError) send(res, error.status, { ok: false, error: error.message });
    else if (error instanceof BodyTooLargeError) send(res, 413, { ok: false, error: error.message });
    else send(res, 400, { ok: false, error: error instanceof Error ? error.message : String(error) });
  }
}

const NO_JSON = Symbol("response already written");

async function route(
  fake: FakeTelegram,
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  res: ServerResponse,
): Promise<unknown> {
  const method = req.method ?? "GET";
  const path = url.pathname.replace(/^\/__control/, "").replace(/\/+$/, "");
  const q = url.searchParams;
  let m: RegExpExecArray | null;

  if (method === "GET" && path === "/info") {
    return {
      apiRoot: fake.apiRoot,
      bot: fake.bot,
      webhook: fake.webhookInfo(),
      pendingUpdates: fake.pendingUpdateCount(),
    };
  }
  if (method === "POST" && path === "/users") {
    const json = jsonBody(body);
    const init = {
      id: int(json["id"], "id"),
      ...(json["first_name"] === undefined ? {} : { first_name: str(json["first_name"], "first_name") }),
      ...(json["last_name"] === undefined ? {} : { last_name: str(json["last_name"], "last_name") }),
      ...(json["username"] === undefined ? {} : { username: str(json["username"], "username") }),
      ...(json["language_code"] === undefined
        ? {}
        : { language_code: str(json["language_code"], "language_code") }),
    };
    return fake.user(init);
  }
  if (
    (m = /^\/users\/(\d+)\/(text|photo|document|press|pay|block|unblock)$/.exec(path)) !== null &&
    method === "POST"
  ) {
    const userId = int(m[1], "user id");
    const action = m[2] ?? "";
    switch (action) {
      case "text": {
        // JSON unless sent as text/plain (curl -d sends JSON with a form content-type).
        const plain = (req.headers["content-type"] ?? "").startsWith("text/plain");
        const json = plain ? {} : jsonBody(body);
        const text = plain ? body.toString("utf8") : str(json["text"], "text");
        const replyTo =
          json["reply_to_message_id"] === undefined
            ? {}
            : { replyTo: int(json["reply_to_message_id"], "reply_to_message_id") };
        return { message: fake.sendText(userId, text, replyTo) };
      }
      case "photo": {
        const { bytes, json } = fileBytes(req, body);
        const caption = optStr(json["caption"], "caption") ?? q.get("caption") ?? undefined;
        return { message: fake.sendPhoto(userId, bytes, caption === undefined ? {} : { caption }) };
      }
      case "document": {
        const { bytes, json } = fileBytes(req, body);
        const fileName = optStr(json["file_name"], "file_name") ?? q.get("file_name") ?? "file.bin";
        const caption = optStr(json["caption"], "caption") ?? q.get("caption") ?? undefined;
        const mimeType = optStr(json["mime_type"], "mime_type") ?? q.get("mime_type") ?? undefined;
        return {
          message: fake.sendDocument(userId, bytes, {
            fileName,
            ...(caption === undefined ? {} : { caption }),
            ...(mimeType === undefined ? {} : { mimeType }),
          }),
        };
      }
      case "press": {
        const json = jsonBody(body);
        const force = json["force"] === true ? { force: true } : {};
        return {
          callback_query: fake.pressButton(
            userId,
            int(json["message_id"], "message_id"),
            str(json["data"], "data"),
            force,
          ),
        };
      }
      case "pay": {
        const json = jsonBody(body);
        return await fake.payInvoice(userId, int(json["message_id"], "message_id"));
      }
      case "block":
        fake.blockUser(userId);
        return true;
      default:
        fake.unblockUser(userId);
        return true;
    }
  }
  if (method === "GET" && (m = /^\/chats\/(-?\d+)\/messages$/.exec(path)) !== null) {
    return fake.chatMessages(int(m[1], "chat id"));
  }
  if (method === "GET" && (m = /^\/chats\/(-?\d+)\/messages\/(\d+)\/file$/.exec(path)) !== null) {
    const stored = fake.message(int(m[1], "chat id"), int(m[2], "message id"));
    if (stored === undefined) throw new ControlError(404, "no such message");
    const bytes = fake.mediaBytes(stored.message);
    const type = stored.message.document?.mime_type ?? "application/octet-stream";
    res.writeHead(200, { "content-type": type, "content-length": bytes.length });
    res.end(bytes);
    return NO_JSON;
  }
  if (method === "GET" && path === "/calls") {
    const limit = Math.min(1_000, Math.max(1, Number(q.get("limit") ?? "100") || 100));
    return fake.calls(q.get("method") ?? undefined).slice(-limit);
  }
  if (method === "GET" && path === "/webhook/deliveries") return fake.webhookDeliveries().slice(-1_000);
  if (method === "POST" && path === "/updates") {
    return fake.injectUpdate(jsonBody(body) as Omit<TgUpdate, "update_id">);
  }
  if (method === "POST" && (m = /^\/updates\/(\d+)\/redeliver$/.exec(path)) !== null) {
    fake.redeliverUpdate(int(m[1], "update id"));
    return true;
  }
  if (path === "/failures" && method === "POST") {
    const json = jsonBody(body);
    const methods = json["methods"] ?? json["method"] ?? "*";
    if (
      typeof methods !== "string" &&
      !(Array.isArray(methods) && methods.every((x) => typeof x === "string"))
    ) {
      throw new ControlError(400, "methods must be a string or an array of strings");
    }
    const failure = json["failure"] as TgFailure | undefined;
    if (typeof failure !== "object" || failure === null || typeof failure.type !== "string") {
      throw new ControlError(400, 'failure must be an object with a "type"');
    }
    const chat = json["chat_id"] === undefined ? {} : { chatId: int(json["chat_id"], "chat_id") };
    if (json["storm"] === true) {
      fake.storm(methods, failure, {
        ...chat,
        ...(json["every"] === undefined ? {} : { every: int(json["every"], "every") }),
      });
    } else {
      fake.failNext(methods, failure, {
        ...chat,
        ...(json["times"] === undefined ? {} : { times: int(json["times"], "times") }),
      });
    }
    return true;
  }
  if (path === "/failures" && method === "DELETE") {
    fake.clearFailures();
    return true;
  }
  if (path === "/flood-limits" && method === "PUT") {
    const json = jsonBody(body);
    fake.setFloodLimits({
      ...(json["perChat"] === undefined ? {} : { perChat: int(json["perChat"], "perChat") }),
      ...(json["global"] === undefined ? {} : { global: int(json["global"], "global") }),
      ...(json["windowMs"] === undefined ? {} : { windowMs: int(json["windowMs"], "windowMs") }),
    });
    return true;
  }
  if (path === "/flood-limits" && method === "DELETE") {
    fake.setFloodLimits(false);
    return true;
  }
  if (path === "/duplicate-next-updates" && method === "POST") {
    fake.duplicateNextUpdates(int(jsonBody(body)["count"] ?? 1, "count"));
    return true;
  }
  if (path === "/webhook-origin" && method === "PUT") {
    fake.setWebhookOrigin(optStr(jsonBody(body)["origin"], "origin"));
    return true;
  }
  throw new ControlError(404, `no control route ${method} ${url.pathname}`);
}
