// The Bot API's error vocabulary, in one place, with the exact descriptions the real server sends.
import type { TgEnvelope, TgResponseParameters } from "./types.js";

export class TelegramApiError extends Error {
  readonly errorCode: number;
  readonly description: string;
  readonly parameters: TgResponseParameters | undefined;

  constructor(errorCode: number, description: string, parameters?: TgResponseParameters) {
    super(`${errorCode}: ${description}`);
    this.name = "TelegramApiError";
    this.errorCode = errorCode;
    this.description = description;
    this.parameters = parameters;
  }

  toEnvelope(): TgEnvelope {
    return this.parameters === undefined
      ? { ok: false, error_code: this.errorCode, description: this.description }
      : { ok: false, error_code: this.errorCode, description: this.description, parameters: this.parameters };
  }
}

export const badRequest = (detail: string): TelegramApiError =>
  new TelegramApiError(400, `Bad Request: ${detail}`);

export const unauthorized = (): TelegramApiError => new TelegramApiError(401, "Unauthorized");

export const notFound = (): TelegramApiError => new TelegramApiError(404, "Not Found");

export const forbidden = (detail: string): TelegramApiError =>
  new TelegramApiError(403, `Forbidden: ${detail}`);

export const conflict = (detail: string): TelegramApiError =>
  new TelegramApiError(409, `Conflict: ${detail}`);

export const tooLarge = (): TelegramApiError => new TelegramApiError(413, "Request Entity Too Large");

/** retry_after is whole seconds on the real API; the fake also accepts fractions for fast tests. */
export const tooManyRequests = (retryAfterS: number): TelegramApiError =>
  new TelegramApiError(429, `Too Many Requests: retry after ${retryAfterS}`, { retry_after: retryAfterS });

export const serverError = (status: number, description: string): TelegramApiError =>
  new TelegramApiError(status, description);

export const Errors = {
  chatNotFound: () => badRequest("chat not found"),
  blocked: () => forbidden("bot was blocked by the user"),
  textEmpty: () => badRequest("message text is empty"),
  textTooLong: () => badRequest("message is too long"),
  captionTooLong: () => badRequest("message caption is too long"),
  notModified: () =>
    badRequest(
      "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    ),
  messageToEditNotFound: () => badRequest("message to edit not found"),
  messageCantBeEdited: () => badRequest("message can't be edited"),
  noTextToEdit: () => badRequest("there is no text in the message to edit"),
  messageToDeleteNotFound: () => badRequest("message to delete not found"),
  replyNotFound: () => badRequest("message to be replied not found"),
  queryTooOld: () => badRequest("query is too old and response timeout expired or query ID is invalid"),
  buttonDataInvalid: () => badRequest("BUTTON_DATA_INVALID"),
  wrongFileId: () => badRequest("wrong file identifier/HTTP URL specified"),
  invalidFileId: () => badRequest("invalid file_id"),
  fileTooBig: () => badRequest("file is too big"),
  urlFetchFailed: () => badRequest("failed to get HTTP URL content"),
  imageProcessFailed: () => badRequest("IMAGE_PROCESS_FAILED"),
  fileTypeMismatch: () => badRequest("type of file mismatch"),
  webhookConflict: () =>
    conflict(
      "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    ),
  pollerConflict: () =>
    conflict("terminated by other getUpdates request; make sure that only one bot instance is running"),
} as const;
