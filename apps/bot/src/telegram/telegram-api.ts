// TelegramApi over telegraf's client. The only file that calls telegraf's Telegram methods or sees its
// errors: each failure becomes a TelegramCallError whose kind the send queue acts on and whose text
// has the token removed (telegraf's FetchError messages quote the request URL, token included).
import { Input, type Telegram, TelegramError } from "telegraf";
import type { InlineKeyboardMarkup } from "telegraf/types";
import type { Redactor } from "./redact.js";
import {
  type InlineKeyboard,
  type Outgoing,
  TelegramCallError,
  type TelegramApi,
  type TelegramFailure,
  type TelegramFile,
} from "./types.js";

const DOWNLOAD_TIMEOUT_MS = 30_000;

export function createTelegramApi(options: {
  telegram: Telegram;
  apiRoot: string;
  token: string;
  redact: Redactor;
}): TelegramApi {
  const { telegram, redact } = options;
  const root = options.apiRoot.endsWith("/") ? options.apiRoot : `${options.apiRoot}/`;

  const call = async <T>(method: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toCallError(method, error, redact);
    }
  };

  return {
    async send(message: Outgoing) {
      const reply_markup = markup(message.keyboard);
      if (message.kind === "invoice") {
        // The raw call: telegraf's sendInvoice helper predates Stars.
        const sent = await call("sendInvoice", () =>
          telegram.callApi("sendInvoice", {
            chat_id: message.chatId,
            title: message.title,
            description: message.description,
            payload: message.payload,
            provider_token: "",
            currency: message.currency,
            prices: [{ label: message.label, amount: Number(message.amount) }],
            ...(reply_markup === undefined ? {} : { reply_markup }),
          }),
        );
        return { messageId: sent.message_id };
      }
      if (message.kind === "text") {
        const sent = await call("sendMessage", () =>
          telegram.sendMessage(message.chatId, message.text, {
            link_preview_options: { is_disabled: true },
            ...(reply_markup === undefined ? {} : { reply_markup }),
          }),
        );
        return { messageId: sent.message_id };
      }
      const sent = await call("sendPhoto", () =>
        telegram.sendPhoto(
          message.chatId,
          Input.fromBuffer(
            Buffer.from(message.photo.buffer, message.photo.byteOffset, message.photo.byteLength),
            message.fileName,
          ),
          {
            ...(message.caption === undefined ? {} : { caption: message.caption }),
            ...(reply_markup === undefined ? {} : { reply_markup }),
          },
        ),
      );
      return { messageId: sent.message_id };
    },

    async answerCallback(callbackQueryId, text) {
      await call("answerCallbackQuery", () =>
        telegram.answerCbQuery(callbackQueryId, text === undefined ? undefined : text.slice(0, 200)),
      );
    },

    async answerPreCheckout(queryId, answer) {
      await call("answerPreCheckoutQuery", () =>
        answer.ok
          ? telegram.answerPreCheckoutQuery(queryId, true)
          : telegram.answerPreCheckoutQuery(queryId, false, answer.errorMessage.slice(0, 255)),
      );
    },

    async chatAction(chatId, action) {
      await call("sendChatAction", () => telegram.sendChatAction(chatId, action));
    },

    async setCommands(commands, languageCode) {
      await call("setMyCommands", () =>
        telegram.setMyCommands(
          commands.map((c) => ({ command: c.command, description: c.description })),
          languageCode === undefined ? {} : { language_code: languageCode },
        ),
      );
    },

    async getFile(fileId): Promise<TelegramFile> {
      const file = await call("getFile", () => telegram.getFile(fileId));
      if (file.file_path === undefined || file.file_path === "") {
        throw new TelegramCallError(
          "getFile",
          { kind: "rejected", status: 400 },
          "no file_path in the answer",
        );
      }
      return { filePath: file.file_path, sizeBytes: file.file_size };
    },

    async download(filePath, maxBytes, signal) {
      const url = new URL(`file/bot${options.token}/${filePath}`, root);
      const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
      let response: Response;
      try {
        response = await fetch(url, {
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        });
      } catch (error) {
        throw toCallError("download", error, redact);
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new TelegramCallError(
          "download",
          failureOfStatus(response.status, undefined),
          `HTTP ${response.status}`,
        );
      }
      const declared = Number(response.headers.get("content-length") ?? "NaN");
      if (Number.isFinite(declared) && declared > maxBytes) {
        await response.body?.cancel();
        throw new TelegramCallError("download", { kind: "too_large", sizeBytes: declared }, "");
      }
      // Counted while reading: a missing or lying content-length cannot make us hold more than maxBytes.
      const chunks: Uint8Array[] = [];
      let total = 0;
      const body = response.body;
      if (body === null) return new Uint8Array();
      try {
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          total += chunk.byteLength;
          // Leaving the loop cancels the stream: nothing more is read.
          if (total > maxBytes)
            throw new TelegramCallError("download", { kind: "too_large", sizeBytes: total }, "");
          chunks.push(chunk);
        }
      } catch (error) {
        if (error instanceof TelegramCallError) throw error;
        throw toCallError("download", error, redact);
      }
      const bytes = new Uint8Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return bytes;
    },
  };
}

function markup(keyboard: InlineKeyboard | undefined): InlineKeyboardMarkup | undefined {
  if (keyboard === undefined || keyboard.length === 0) return undefined;
  return {
    inline_keyboard: keyboard.map((row) =>
      row.map((button) =>
        button.url !== undefined
          ? { text: button.text, url: button.url }
          : { text: button.text, callback_data: button.callbackData ?? "noop" },
      ),
    ),
  };
}

function failureOfStatus(status: number, retryAfterS: number | undefined): TelegramFailure {
  if (status === 429) {
    // Telegram sends whole seconds; without a hint, a second is the documented minimum pause.
    const seconds = retryAfterS !== undefined && retryAfterS > 0 ? retryAfterS : 1;
    return { kind: "rate_limited", retryAfterMs: Math.ceil(seconds * 1000) };
  }
  if (status >= 500) return { kind: "transient", status };
  if (status === 403) return { kind: "forbidden" };
  return { kind: "rejected", status };
}

export function toCallError(method: string, error: unknown, redact: Redactor): TelegramCallError {
  if (error instanceof TelegramCallError) return error;
  if (error instanceof TelegramError) {
    return new TelegramCallError(
      method,
      failureOfStatus(error.code, error.parameters?.retry_after),
      redact(error.description).slice(0, 300),
    );
  }
  // FetchError (connection refused, reset, dropped), AbortError, timeouts: the request may or may
  // not have reached Telegram; a bounded retry is the best we can do.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TelegramCallError(method, { kind: "transient" }, redact(message).slice(0, 300));
}
