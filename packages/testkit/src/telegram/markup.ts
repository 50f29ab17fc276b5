// reply_markup validation: inline keyboards (callback_data 1–64 bytes), reply keyboards, removal and
// force_reply, failing the way the real server fails.
import { Errors, badRequest } from "./api-error.js";
import { isRecord } from "./params.js";
import type {
  JsonValue,
  TgInlineKeyboardButton,
  TgInlineKeyboardMarkup,
  TgKeyboardButton,
  TgReplyKeyboardMarkup,
} from "./types.js";

export type ParsedMarkup =
  | { kind: "inline"; markup: TgInlineKeyboardMarkup }
  | { kind: "keyboard"; markup: TgReplyKeyboardMarkup }
  | { kind: "remove" }
  | { kind: "force_reply"; placeholder?: string };

export const MAX_CALLBACK_DATA_BYTES = 64;
const MAX_BUTTONS = 100;
const INLINE_ACTIONS = [
  "callback_data",
  "url",
  "web_app",
  "login_url",
  "switch_inline_query",
  "switch_inline_query_current_chat",
  "switch_inline_query_chosen_chat",
  "callback_game",
  "pay",
  "copy_text",
] as const;

// Telegram keeps only the fields it knows (telegraf adds e.g. `hide: false` to every button).
const KEYBOARD_BUTTON_FIELDS = [
  "request_users",
  "request_chat",
  "request_contact",
  "request_location",
  "request_poll",
  "web_app",
] as const;

function pick(value: { [key: string]: JsonValue }, fields: readonly string[]): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const f of fields) {
    const v = value[f];
    if (v !== undefined && v !== null) out[f] = v;
  }
  return out;
}

const inlineError = (detail: string) => badRequest(`can't parse inline keyboard button: ${detail}`);
const markupError = () => badRequest("can't parse reply keyboard markup JSON object");

function rowsOf(value: JsonValue | undefined, field: string): JsonValue[][] {
  if (!Array.isArray(value)) throw badRequest(`field "${field}" of the keyboard must be an Array`);
  let count = 0;
  return value.map((row) => {
    if (!Array.isArray(row)) throw badRequest(`field "${field}" of the keyboard must be an Array of Arrays`);
    count += row.length;
    if (count > MAX_BUTTONS) throw badRequest("reply markup is too long");
    return row;
  });
}

function inlineButton(value: JsonValue): TgInlineKeyboardButton {
  if (!isRecord(value)) throw inlineError("InlineKeyboardButton must be an Object");
  const text = value["text"];
  if (typeof text !== "string") throw inlineError('Field "text" must be of type String');
  const actions = INLINE_ACTIONS.filter((a) => value[a] !== undefined && value[a] !== null);
  if (actions.length === 0) throw inlineError("Text buttons are unallowed in the inline keyboard");
  if (actions.length > 1) throw inlineError("more than one action is specified");
  const data = value["callback_data"];
  if (data !== undefined && data !== null) {
    if (typeof data !== "string") throw inlineError('Field "callback_data" must be of type String');
    const bytes = Buffer.byteLength(data, "utf8");
    if (bytes === 0 || bytes > MAX_CALLBACK_DATA_BYTES) throw Errors.buttonDataInvalid();
  }
  const url = value["url"];
  if (url !== undefined && url !== null) {
    if (typeof url !== "string" || !/^(https?|tg):\/\/\S+$/i.test(url)) {
      throw badRequest(
        `inline keyboard button URL '${typeof url === "string" ? url : JSON.stringify(url)}' is invalid: Wrong HTTP URL`,
      );
    }
  }
  return { text, ...pick(value, INLINE_ACTIONS) };
}

function keyboardButton(value: JsonValue): TgKeyboardButton {
  if (typeof value === "string") return { text: value };
  if (!isRecord(value) || typeof value["text"] !== "string") {
    throw badRequest("can't parse keyboard button: KeyboardButton must be a String or an Object");
  }
  return { text: value["text"], ...pick(value, KEYBOARD_BUTTON_FIELDS) };
}

export function parseReplyMarkup(value: JsonValue | undefined): ParsedMarkup | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw markupError();
  if (value["inline_keyboard"] !== undefined) {
    const rows = rowsOf(value["inline_keyboard"], "inline_keyboard");
    return { kind: "inline", markup: { inline_keyboard: rows.map((row) => row.map(inlineButton)) } };
  }
  if (value["keyboard"] !== undefined) {
    const rows = rowsOf(value["keyboard"], "keyboard");
    const markup: TgReplyKeyboardMarkup = { keyboard: rows.map((row) => row.map(keyboardButton)) };
    for (const flag of ["is_persistent", "resize_keyboard", "one_time_keyboard", "selective"] as const) {
      const v = value[flag];
      if (typeof v === "boolean") markup[flag] = v;
    }
    const placeholder = value["input_field_placeholder"];
    if (typeof placeholder === "string") markup.input_field_placeholder = placeholder;
    return { kind: "keyboard", markup };
  }
  if (value["remove_keyboard"] === true) return { kind: "remove" };
  if (value["force_reply"] === true) {
    const placeholder = value["input_field_placeholder"];
    return typeof placeholder === "string" ? { kind: "force_reply", placeholder } : { kind: "force_reply" };
  }
  throw markupError();
}

/** Every callback_data of an inline keyboard, for checking that a pressed button exists. */
export function callbackDataOf(markup: TgInlineKeyboardMarkup | undefined): string[] {
  if (markup === undefined) return [];
  return markup.inline_keyboard.flatMap((row) =>
    row.flatMap((b) => (typeof b.callback_data === "string" ? [b.callback_data] : [])),
  );
}
