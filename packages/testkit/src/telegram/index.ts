// Public surface of the Telegram Bot API fake (names are prefixed so the package index can re-export
// them next to the other fakes without clashes).
export { FakeTelegram, startFakeTelegram } from "./fake-telegram.js";
export type { FakeTelegramOptions, PayInvoiceOutcome, TgCallRecord } from "./fake-telegram.js";
export type { FloodLimits, TgFailure } from "./failures.js";
export { TgUploadedFile } from "./http-body.js";
export type { Params as TgParams } from "./http-body.js";
export { createTestPng, sniffImage } from "./images.js";
export type { ImageInfo, TestPngOptions } from "./images.js";
export type {
  CallbackAnswer as TgCallbackAnswer,
  FakeUserInit as TgFakeUserInit,
  PreCheckoutAnswer as TgPreCheckoutAnswer,
  StoredMessage as TgStoredMessage,
} from "./store.js";
export type { WebhookDeliveryRecord as TgWebhookDelivery } from "./updates.js";
export type * from "./types.js";
