// The bot's own small view of the Telegram Bot API. Flows and the send queue see only this; telegraf
// lives behind it (telegram-api.ts), so a library upgrade or a second transport touches one file and
// telegraf's errors (whose messages and payloads can carry the token, user text or photo bytes) never
// travel further than that file.

export interface InlineButton {
  readonly text: string;
  /** 1-64 bytes (Telegram's limit). */
  readonly callbackData?: string;
  readonly url?: string;
}

export type InlineKeyboard = readonly (readonly InlineButton[])[];

export interface OutgoingText {
  readonly kind: "text";
  readonly chatId: number;
  /** Plain text (no parse mode), at most 4096 characters. */
  readonly text: string;
  readonly keyboard?: InlineKeyboard;
}

export interface OutgoingPhoto {
  readonly kind: "photo";
  readonly chatId: number;
  /** PNG or JPEG bytes, uploaded as multipart. */
  readonly photo: Uint8Array;
  readonly fileName: string;
  /** At most 1024 characters. */
  readonly caption?: string;
  readonly keyboard?: InlineKeyboard;
}

/** A Telegram Stars invoice: currency XTR, an empty provider token, one price item. */
export interface OutgoingInvoice {
  readonly kind: "invoice";
  readonly chatId: number;
  /** At most 32 characters. */
  readonly title: string;
  /** At most 255 characters. */
  readonly description: string;
  /** 1-128 bytes; billing's payment id. */
  readonly payload: string;
  readonly currency: "XTR";
  readonly label: string;
  /** Stars, as billing counts them; the Telegram API's JSON integer is made in telegram-api.ts. */
  readonly amount: bigint;
  readonly keyboard?: InlineKeyboard;
}

export type Outgoing = OutgoingText | OutgoingPhoto | OutgoingInvoice;

/** The Telegram method that sends an Outgoing (for metrics and logs). */
export function sendMethodOf(message: Outgoing): "sendMessage" | "sendPhoto" | "sendInvoice" {
  return message.kind === "text" ? "sendMessage" : message.kind === "photo" ? "sendPhoto" : "sendInvoice";
}

export interface BotCommand {
  /** 1-32 characters: lowercase letters, digits, underscores. */
  readonly command: string;
  readonly description: string;
}

export interface TelegramFile {
  /** Relative path for the download endpoint. */
  readonly filePath: string;
  readonly sizeBytes: number | undefined;
}

export interface TelegramApi {
  /** Sends one message; throws TelegramCallError. */
  send(message: Outgoing): Promise<{ messageId: number }>;
  /** Stops the button's spinner, optionally with a short toast. Throws TelegramCallError. */
  answerCallback(callbackQueryId: string, text?: string): Promise<void>;
  /** Answers a pre_checkout_query: ok, or a refusal the user reads. Throws TelegramCallError. */
  answerPreCheckout(
    queryId: string,
    answer: { ok: true } | { ok: false; errorMessage: string },
  ): Promise<void>;
  /** "typing…" / "sending a photo…" in the chat for up to 5 s. Throws TelegramCallError. */
  chatAction(chatId: number, action: "typing" | "upload_photo"): Promise<void>;
  /** The command menu for users whose Telegram language is `languageCode` (undefined = everyone else). */
  setCommands(commands: readonly BotCommand[], languageCode: string | undefined): Promise<void>;
  getFile(fileId: string): Promise<TelegramFile>;
  /** The file's bytes, refusing more than maxBytes (TelegramCallError kind "too_large"). */
  download(filePath: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array>;
}

/** What went wrong with a call, in the terms the bot acts on. */
export type TelegramFailure =
  /** 429: wait retryAfterMs, then the same call may succeed. */
  | { readonly kind: "rate_limited"; readonly retryAfterMs: number }
  /** 5xx or the connection failed: retrying a bounded number of times is reasonable. */
  | { readonly kind: "transient"; readonly status?: number }
  /** 403: the user blocked the bot (or the chat is gone): further sends are pointless. */
  | { readonly kind: "forbidden" }
  /** A file larger than we accept. */
  | { readonly kind: "too_large"; readonly sizeBytes?: number }
  /** Any other 4xx: the request itself is wrong; retrying changes nothing. */
  | { readonly kind: "rejected"; readonly status: number };

export class TelegramCallError extends Error {
  override readonly name = "TelegramCallError";

  constructor(
    readonly method: string,
    readonly failure: TelegramFailure,
    /** Telegram's description or the transport error's message, already free of the token. */
    readonly description: string,
  ) {
    super(`${method}: ${failure.kind}${description === "" ? "" : ` (${description})`}`);
  }
}
