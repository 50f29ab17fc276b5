// The Bot API methods the fake implements. Each handler validates like the real server (same limits,
// same 400 descriptions), changes the state and returns the method's result. Method names are
// case-insensitive, as on the real server.
import { isDeepStrictEqual } from "node:util";
import { Errors, TelegramApiError, badRequest } from "./api-error.js";
import { BodyTooLargeError, isUpload, readResponseBody } from "./http-body.js";
import type { Params } from "./http-body.js";
import { sniffImage } from "./images.js";
import { parseReplyMarkup } from "./markup.js";
import type { ParsedMarkup } from "./markup.js";
import {
  fileInput,
  isRecord,
  optBool,
  optInt,
  optJson,
  optNumber,
  optString,
  reqChatId,
  reqInt,
  reqString,
} from "./params.js";
import { formatText } from "./parse-mode.js";
import type { FormattedText } from "./parse-mode.js";
import type { ChatState, FileRecord, Store, StoredMessage } from "./store.js";
import type {
  JsonValue,
  TgDocument,
  TgFile,
  TgInlineKeyboardMarkup,
  TgMessage,
  TgMessageEntity,
  TgPhotoSize,
  TgUpdate,
} from "./types.js";
import type { Updates } from "./updates.js";

export const MAX_TEXT_LENGTH = 4096;
export const MAX_CAPTION_LENGTH = 1024;
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const MAX_PHOTO_URL_BYTES = 5 * 1024 * 1024;
const MAX_CALLBACK_ANSWER_LENGTH = 200;
const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);
const MIME_BY_EXT: Record<string, string> = {
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  zip: "application/zip",
  mp4: "video/mp4",
};

/** The MIME type Telegram reports for a file name (by extension), else the fallback. */
export function mimeTypeOf(fileName: string, fallback: string): string {
  return MIME_BY_EXT[/\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? ""] ?? fallback;
}

export interface MethodConfig {
  callbackQueryTtlMs: number;
  preCheckoutTtlMs: number;
  urlFetchTimeoutMs: number;
}

export interface MethodContext {
  readonly store: Store;
  readonly updates: Updates;
  readonly config: MethodConfig;
  readonly now: () => number;
  /** Aborted when the client goes away or the fake closes. */
  readonly signal: AbortSignal;
  /** Set by handlers whose envelope carries a description (setWebhook, deleteWebhook). */
  description?: string;
}

type Handler = (ctx: MethodContext, p: Params) => unknown;

export interface MethodSpec {
  readonly name: string;
  /** Creates a message in a chat: counted by the flood limits. */
  readonly sendsMessage: boolean;
  readonly handler: Handler;
}

// ---- shared pieces ----

function entitiesParam(p: Params, name: string): TgMessageEntity[] | undefined {
  const v = optJson(p, name, "can't parse entities JSON object");
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 1_000) throw badRequest("can't parse entities JSON object");
  return v.map((e) => {
    if (
      !isRecord(e) ||
      typeof e["type"] !== "string" ||
      typeof e["offset"] !== "number" ||
      typeof e["length"] !== "number"
    ) {
      throw badRequest("can't parse MessageEntity");
    }
    return { ...e, type: e["type"], offset: e["offset"], length: e["length"] };
  });
}

function messageText(p: Params): FormattedText {
  const raw = optString(p, "text");
  if (raw === undefined || raw === "") throw Errors.textEmpty();
  const formatted = formatText(raw, optString(p, "parse_mode"), entitiesParam(p, "entities"));
  if (formatted.text.length === 0) throw Errors.textEmpty();
  if (formatted.text.length > MAX_TEXT_LENGTH) throw Errors.textTooLong();
  return formatted;
}

function caption(p: Params): FormattedText | undefined {
  const raw = optString(p, "caption");
  if (raw === undefined || raw === "") return undefined;
  const formatted = formatText(raw, optString(p, "parse_mode"), entitiesParam(p, "caption_entities"));
  if (formatted.text.length > MAX_CAPTION_LENGTH) throw Errors.captionTooLong();
  return formatted.text.length === 0 ? undefined : formatted;
}

function markupParam(p: Params): ParsedMarkup | undefined {
  return parseReplyMarkup(optJson(p, "reply_markup", "can't parse reply keyboard markup JSON object"));
}

function inlineOnly(markup: ParsedMarkup | undefined): TgInlineKeyboardMarkup | undefined {
  if (markup === undefined) return undefined;
  if (markup.kind !== "inline") throw badRequest("inline keyboard expected");
  return markup.markup;
}

function applyKeyboard(state: ChatState, markup: ParsedMarkup | undefined): void {
  if (markup?.kind === "keyboard") state.replyKeyboard = markup.markup;
  if (markup?.kind === "remove") state.replyKeyboard = null;
}

function replyTarget(state: ChatState, p: Params): TgMessage | undefined {
  const rp = optJson(p, "reply_parameters", "can't parse reply parameters JSON object");
  let id = optInt(p, "reply_to_message_id");
  let allowMissing = optBool(p, "allow_sending_without_reply") ?? false;
  if (rp !== undefined) {
    if (!isRecord(rp) || typeof rp["message_id"] !== "number") {
      throw badRequest("can't parse reply parameters JSON object");
    }
    id = rp["message_id"];
    allowMissing = rp["allow_sending_without_reply"] === true;
  }
  if (id === undefined) return undefined;
  const target = state.messages.get(id);
  if (target === undefined || target.deleted) {
    if (allowMissing) return undefined;
    throw Errors.replyNotFound();
  }
  const { reply_to_message: _nested, ...flat } = target.message;
  return flat;
}

function withText(message: TgMessage, formatted: FormattedText, field: "text" | "caption"): void {
  if (field === "text") {
    message.text = formatted.text;
    if (formatted.entities.length > 0) message.entities = formatted.entities;
    else delete message.entities;
  } else {
    message.caption = formatted.text;
    if (formatted.entities.length > 0) message.caption_entities = formatted.entities;
    else delete message.caption_entities;
  }
}

/** Creates a bot message in the chat from the common send* parameters. */
function sendBotMessage(
  ctx: MethodContext,
  state: ChatState,
  p: Params,
  markup: ParsedMarkup | undefined,
  fill: (message: TgMessage) => void,
): StoredMessage {
  const replyTo = replyTarget(state, p);
  const stored = ctx.store.addMessage(
    state,
    "bot",
    (messageId, date) => {
      const message: TgMessage = {
        message_id: messageId,
        from: ctx.store.botUser,
        chat: { ...state.chat },
        date,
      };
      if (replyTo !== undefined) message.reply_to_message = replyTo;
      fill(message);
      if (markup?.kind === "inline") message.reply_markup = markup.markup;
      return message;
    },
    ctx.now(),
  );
  applyKeyboard(state, markup);
  return stored;
}

function editTarget(ctx: MethodContext, p: Params): StoredMessage {
  if (optString(p, "inline_message_id") !== undefined) throw badRequest("MESSAGE_ID_INVALID");
  const state = ctx.store.chatFor(reqChatId(p), { sending: true });
  const stored = state.messages.get(reqInt(p, "message_id"));
  if (stored === undefined || stored.deleted) throw Errors.messageToEditNotFound();
  if (stored.sender !== "bot") throw Errors.messageCantBeEdited();
  return stored;
}

function commitEdit(ctx: MethodContext, stored: StoredMessage, next: TgMessage): TgMessage {
  const { edit_date: _before, ...current } = stored.message;
  const { edit_date: _after, ...candidate } = next;
  if (isDeepStrictEqual(current, candidate)) throw Errors.notModified();
  ctx.store.replaceMessage(stored, { ...next, edit_date: Math.floor(ctx.now() / 1000) });
  return stored.message;
}

interface MediaBytes {
  bytes: Buffer;
  filename: string;
  contentType: string;
}

async function fetchUrl(ctx: MethodContext, url: string, limitBytes: number): Promise<MediaBytes> {
  try {
    const res = await fetch(url, {
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.config.urlFetchTimeoutMs)]),
    });
    if (!res.ok) throw Errors.urlFetchFailed();
    const bytes = await readResponseBody(res, limitBytes);
    const filename = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "") || "file";
    return { bytes, filename, contentType: res.headers.get("content-type") ?? "" };
  } catch (e) {
    if (e instanceof TelegramApiError) throw e;
    if (e instanceof BodyTooLargeError) throw Errors.fileTooBig();
    throw Errors.urlFetchFailed();
  }
}

/** A file field as bytes to store, or an already stored file (by file_id). */
async function mediaInput(
  ctx: MethodContext,
  p: Params,
  field: "photo" | "document",
  urlLimitBytes: number,
): Promise<MediaBytes | FileRecord> {
  const input = fileInput(p, field);
  if (isUpload(input))
    return { bytes: input.bytes, filename: input.filename, contentType: input.contentType };
  if (/^https?:\/\//i.test(input)) return await fetchUrl(ctx, input, urlLimitBytes);
  const record = ctx.store.files.get(input);
  if (record === undefined) throw Errors.wrongFileId();
  if (record.kind !== field) throw Errors.fileTypeMismatch();
  return record;
}

function isFileRecord(v: MediaBytes | FileRecord): v is FileRecord {
  return "fileId" in v;
}

function photoSizesFor(ctx: MethodContext, media: MediaBytes | FileRecord): TgPhotoSize[] {
  if (isFileRecord(media)) return media.photoSizes ?? [];
  if (media.bytes.length > MAX_PHOTO_BYTES) throw Errors.fileTooBig();
  const image = sniffImage(media.bytes);
  if (image === undefined || image.width === 0 || image.height === 0) throw Errors.imageProcessFailed();
  const ratio = Math.max(image.width, image.height) / Math.min(image.width, image.height);
  if (image.width + image.height > 10_000 || ratio > 20) throw badRequest("PHOTO_INVALID_DIMENSIONS");
  return ctx.store.addPhoto(media.bytes, image.width, image.height);
}

function documentFor(ctx: MethodContext, media: MediaBytes | FileRecord): TgDocument {
  const record = isFileRecord(media)
    ? media
    : ctx.store.addDocument(
        media.bytes,
        media.filename,
        mimeTypeOf(
          media.filename,
          media.contentType !== "" && media.contentType !== "text/plain"
            ? media.contentType
            : "application/octet-stream",
        ),
      );
  const doc: TgDocument = {
    file_id: record.fileId,
    file_unique_id: record.fileUniqueId,
    file_size: record.bytes.length,
  };
  if (record.fileName !== undefined) doc.file_name = record.fileName;
  if (record.mimeType !== undefined) doc.mime_type = record.mimeType;
  return doc;
}

function stringArray(v: JsonValue | undefined, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 100 || !v.every((s) => typeof s === "string")) {
    throw badRequest(`can't parse ${field} JSON array`);
  }
  return v;
}

// ---- handlers ----

const handlers: Record<string, { sendsMessage?: boolean; handler: Handler }> = {
  getMe: { handler: (ctx) => ctx.store.bot },

  getUpdates: {
    handler: async (ctx, p): Promise<TgUpdate[]> => {
      const allowed = stringArray(
        optJson(p, "allowed_updates", "can't parse allowed_updates JSON array"),
        "allowed_updates",
      );
      const offset = optInt(p, "offset");
      return await ctx.updates.getUpdates(
        {
          ...(offset === undefined ? {} : { offset }),
          limit: optInt(p, "limit") ?? 100,
          timeoutS: optNumber(p, "timeout") ?? 0,
          ...(allowed === undefined ? {} : { allowedUpdates: allowed }),
        },
        ctx.signal,
      );
    },
  },

  setWebhook: {
    handler: (ctx, p) => {
      const url = optString(p, "url") ?? "";
      const drop = optBool(p, "drop_pending_updates") ?? false;
      if (url === "") {
        ctx.updates.deleteWebhook(drop);
        ctx.description = "Webhook was deleted";
        return true;
      }
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw badRequest("bad webhook: Failed to resolve host: Name or service not known");
      }
      if (parsed.protocol !== "https:")
        throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
      const secret = optString(p, "secret_token");
      if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
        throw badRequest("secret token contains unallowed characters");
      }
      const maxConnections = optInt(p, "max_connections") ?? 40;
      if (maxConnections < 1 || maxConnections > 100)
        throw badRequest("bad webhook: max_connections must be between 1 and 100");
      const allowed = stringArray(
        optJson(p, "allowed_updates", "can't parse allowed_updates JSON array"),
        "allowed_updates",
      );
      if (allowed !== undefined) ctx.updates.setAllowedUpdates(allowed);
      const outcome = ctx.updates.setWebhook(
        {
          url,
          maxConnections,
          ...(secret === undefined ? {} : { secretToken: secret }),
          ...(allowed === undefined ? {} : { allowedUpdates: allowed }),
        },
        drop,
      );
      ctx.description = outcome === "set" ? "Webhook was set" : "Webhook is already set";
      return true;
    },
  },

  deleteWebhook: {
    handler: (ctx, p) => {
      const outcome = ctx.updates.deleteWebhook(optBool(p, "drop_pending_updates") ?? false);
      ctx.description = outcome === "deleted" ? "Webhook was deleted" : "Webhook is already deleted";
      return true;
    },
  },

  getWebhookInfo: { handler: (ctx) => ctx.updates.webhookInfo() },

  sendMessage: {
    sendsMessage: true,
    handler: (ctx, p) => {
      const formatted = messageText(p);
      const markup = markupParam(p);
      const state = ctx.store.chatFor(reqChatId(p), { sending: true });
      return sendBotMessage(ctx, state, p, markup, (m) => withText(m, formatted, "text")).message;
    },
  },

  editMessageText: {
    handler: (ctx, p) => {
      const formatted = messageText(p);
      const markup = inlineOnly(markupParam(p));
      const stored = editTarget(ctx, p);
      if (stored.message.text === undefined) throw Errors.noTextToEdit();
      // Without reply_markup the inline keyboard is removed, as on the real server.
      const { reply_markup: _old, ...rest } = stored.message;
      const next: TgMessage = { ...rest };
      withText(next, formatted, "text");
      if (markup !== undefined) next.reply_markup = markup;
      return commitEdit(ctx, stored, next);
    },
  },

  editMessageCaption: {
    handler: (ctx, p) => {
      const formatted = caption(p);
      const markup = inlineOnly(markupParam(p));
      const stored = editTarget(ctx, p);
      if (stored.message.photo === undefined && stored.message.document === undefined) {
        throw badRequest("there is no caption in the message to edit");
      }
      const { reply_markup: _old, caption: _c, caption_entities: _ce, ...rest } = stored.message;
      const next: TgMessage = { ...rest };
      if (formatted !== undefined) withText(next, formatted, "caption");
      if (markup !== undefined) next.reply_markup = markup;
      return commitEdit(ctx, stored, next);
    },
  },

  editMessageReplyMarkup: {
    handler: (ctx, p) => {
      const markup = inlineOnly(markupParam(p));
      const stored = editTarget(ctx, p);
      const { reply_markup: _old, ...rest } = stored.message;
      const next: TgMessage = markup === undefined ? rest : { ...rest, reply_markup: markup };
      return commitEdit(ctx, stored, next);
    },
  },

  deleteMessage: {
    handler: (ctx, p) => {
      const state = ctx.store.chatFor(reqChatId(p), { sending: false });
      const stored = state.messages.get(reqInt(p, "message_id"));
      if (stored === undefined || stored.deleted) throw Errors.messageToDeleteNotFound();
      stored.deleted = true;
      return true;
    },
  },

  answerCallbackQuery: {
    handler: (ctx, p) => {
      const id = reqString(p, "callback_query_id");
      const text = optString(p, "text");
      if (text !== undefined && text.length > MAX_CALLBACK_ANSWER_LENGTH)
        throw badRequest("MESSAGE_TOO_LONG");
      const state = ctx.store.callbackQueries.get(id);
      const now = ctx.now();
      // One answer per query, within callbackQueryTtlMs of the press.
      if (
        state === undefined ||
        state.answer !== undefined ||
        now - state.createdAtMs > ctx.config.callbackQueryTtlMs
      ) {
        throw Errors.queryTooOld();
      }
      state.answer = { show_alert: optBool(p, "show_alert") ?? false, atMs: now };
      if (text !== undefined) state.answer.text = text;
      const url = optString(p, "url");
      if (url !== undefined) state.answer.url = url;
      const cacheTime = optInt(p, "cache_time");
      if (cacheTime !== undefined) state.answer.cache_time = cacheTime;
      return true;
    },
  },

  sendPhoto: {
    sendsMessage: true,
    handler: async (ctx, p) => {
      const text = caption(p);
      const markup = markupParam(p);
      const state = ctx.store.chatFor(reqChatId(p), { sending: true });
      const sizes = photoSizesFor(ctx, await mediaInput(ctx, p, "photo", MAX_PHOTO_URL_BYTES));
      return sendBotMessage(ctx, state, p, markup, (m) => {
        m.photo = sizes;
        if (text !== undefined) withText(m, text, "caption");
      }).message;
    },
  },

  sendDocument: {
    sendsMessage: true,
    handler: async (ctx, p) => {
      const text = caption(p);
      const markup = markupParam(p);
      const state = ctx.store.chatFor(reqChatId(p), { sending: true });
      const doc = documentFor(ctx, await mediaInput(ctx, p, "document", MAX_DOWNLOAD_BYTES));
      return sendBotMessage(ctx, state, p, markup, (m) => {
        m.document = doc;
        if (text !== undefined) withText(m, text, "caption");
      }).message;
    },
  },

  getFile: {
    handler: (ctx, p): TgFile => {
      const record = ctx.store.files.get(reqString(p, "file_id"));
      if (record === undefined) throw Errors.invalidFileId();
      if (record.bytes.length > MAX_DOWNLOAD_BYTES) throw Errors.fileTooBig();
      return {
        file_id: record.fileId,
        file_unique_id: record.fileUniqueId,
        file_size: record.bytes.length,
        file_path: ctx.store.filePathOf(record),
      };
    },
  },

  sendChatAction: {
    handler: (ctx, p) => {
      const action = reqString(p, "action");
      if (!CHAT_ACTIONS.has(action)) throw badRequest("wrong parameter action in request");
      ctx.store.chatFor(reqChatId(p), { sending: true });
      return true;
    },
  },

  getChat: {
    handler: (ctx, p) => {
      const state = ctx.store.chatFor(reqChatId(p), { sending: false });
      return { ...state.chat, accent_color_id: 0, max_reaction_count: 11 };
    },
  },

  setMyCommands: {
    handler: (ctx, p) => {
      const commands = optJson(p, "commands", "can't parse commands JSON object");
      if (!Array.isArray(commands) || commands.length > 100)
        throw badRequest("can't parse commands JSON object");
      for (const c of commands) {
        if (!isRecord(c) || typeof c["command"] !== "string" || !/^[a-z0-9_]{1,32}$/.test(c["command"])) {
          throw badRequest("BOT_COMMAND_INVALID");
        }
        const description = c["description"];
        if (typeof description !== "string" || description.length < 1 || description.length > 256) {
          throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
        }
      }
      ctx.store.setCommands(commandsKey(p), commands);
      return true;
    },
  },

  getMyCommands: { handler: (ctx, p) => ctx.store.commands.get(commandsKey(p)) ?? [] },

  deleteMyCommands: {
    handler: (ctx, p) => {
      ctx.store.commands.delete(commandsKey(p));
      return true;
    },
  },

  sendInvoice: {
    sendsMessage: true,
    handler: (ctx, p) => {
      const title = reqString(p, "title");
      const description = reqString(p, "description");
      const payload = reqString(p, "payload");
      const currency = reqString(p, "currency");
      const providerToken = optString(p, "provider_token") ?? "";
      if (title.length > 32) throw badRequest("INVOICE_TITLE_INVALID");
      if (description.length > 255) throw badRequest("INVOICE_DESCRIPTION_INVALID");
      if (Buffer.byteLength(payload, "utf8") > 128) throw badRequest("INVOICE_PAYLOAD_INVALID");
      if (!/^[A-Z]{3}$/.test(currency)) throw badRequest("CURRENCY_INVALID");
      const prices = optJson(p, "prices", "can't parse prices JSON object");
      if (!Array.isArray(prices) || prices.length === 0 || prices.length > 100) {
        throw badRequest("can't parse prices JSON object");
      }
      let total = 0;
      for (const price of prices) {
        if (
          !isRecord(price) ||
          typeof price["label"] !== "string" ||
          !Number.isSafeInteger(price["amount"])
        ) {
          throw badRequest("can't parse prices JSON object");
        }
        total += price["amount"] as number;
      }
      if (currency === "XTR") {
        // Telegram Stars: no provider, exactly one price item.
        if (providerToken !== "") throw badRequest("PROVIDER_TOKEN_INVALID");
        if (prices.length !== 1) throw badRequest("STARS_INVOICE_INVALID");
      } else if (providerToken === "") {
        throw badRequest("PAYMENT_PROVIDER_INVALID");
      }
      if (total <= 0) throw badRequest("CURRENCY_TOTAL_AMOUNT_INVALID");
      const markup = markupParam(p);
      const state = ctx.store.chatFor(reqChatId(p), { sending: true });
      const stored = sendBotMessage(ctx, state, p, markup, (m) => {
        m.invoice = {
          title,
          description,
          start_parameter: optString(p, "start_parameter") ?? "",
          currency,
          total_amount: total,
        };
      });
      stored.invoicePayload = payload;
      return stored.message;
    },
  },

  answerPreCheckoutQuery: {
    handler: (ctx, p) => {
      const id = reqString(p, "pre_checkout_query_id");
      const ok = optBool(p, "ok");
      if (ok === undefined) throw badRequest("ok is empty");
      const errorMessage = optString(p, "error_message");
      if (!ok && (errorMessage === undefined || errorMessage === "")) throw badRequest("ERROR_MESSAGE_EMPTY");
      const state = ctx.store.preCheckoutQueries.get(id);
      const now = ctx.now();
      if (
        state === undefined ||
        state.answer !== undefined ||
        now - state.createdAtMs > ctx.config.preCheckoutTtlMs
      ) {
        throw Errors.queryTooOld();
      }
      state.answer = ok ? { ok, atMs: now } : { ok, atMs: now, error_message: errorMessage ?? "" };
      return true;
    },
  },

  refundStarPayment: {
    handler: (ctx, p) => {
      const userId = reqInt(p, "user_id");
      const charge = ctx.store.charges.get(reqString(p, "telegram_payment_charge_id"));
      if (charge === undefined || charge.userId !== userId) throw badRequest("CHARGE_NOT_FOUND");
      if (charge.refunded) throw badRequest("CHARGE_ALREADY_REFUNDED");
      charge.refunded = true;
      return true;
    },
  },
};

function commandsKey(p: Params): string {
  const scope = optJson(p, "scope", "can't parse BotCommandScope JSON object");
  const type = isRecord(scope) && typeof scope["type"] === "string" ? scope["type"] : "default";
  const chat = isRecord(scope) && scope["chat_id"] !== undefined ? JSON.stringify(scope["chat_id"]) : "";
  return `${type}:${chat}:${optString(p, "language_code") ?? ""}`;
}

export const METHODS: ReadonlyMap<string, MethodSpec> = new Map(
  Object.entries(handlers).map(([name, spec]) => [
    name.toLowerCase(),
    { name, sendsMessage: spec.sendsMessage ?? false, handler: spec.handler },
  ]),
);

/** The chat a call targets, for failure matching and flood limits (never throws). */
export function chatIdOf(p: Params): number | undefined {
  for (const key of ["chat_id", "user_id"]) {
    const v = p[key];
    if (typeof v === "number") return v;
    if (typeof v === "string" && /^-?\d{1,16}$/.test(v)) return Number(v);
  }
  return undefined;
}
