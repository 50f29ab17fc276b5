// Bot API objects as the fake produces them (https://core.telegram.org/bots/api#available-types).
// Only the fields the fake fills in are listed; names follow the wire format (snake_case) on purpose
// so that tests can compare them with what telegraf hands to the bot.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

/** The bot as getMe returns it. */
export interface TgBotUser extends TgUser {
  can_join_groups: boolean;
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
  can_connect_to_business: boolean;
  has_main_web_app: boolean;
}

export interface TgChat {
  id: number;
  type: "private";
  first_name: string;
  last_name?: string;
  username?: string;
}

export interface TgMessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

export interface TgPhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size: number;
}

export interface TgDocument {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size: number;
}

export interface TgFile {
  file_id: string;
  file_unique_id: string;
  file_size: number;
  file_path: string;
}

export interface TgInlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  pay?: boolean;
  [key: string]: JsonValue | undefined;
}

export interface TgInlineKeyboardMarkup {
  inline_keyboard: TgInlineKeyboardButton[][];
}

export interface TgKeyboardButton {
  text: string;
  [key: string]: JsonValue | undefined;
}

/** A reply keyboard (or its removal) as the bot last sent it to a chat; not part of Message. */
export interface TgReplyKeyboardMarkup {
  keyboard: TgKeyboardButton[][];
  is_persistent?: boolean;
  resize_keyboard?: boolean;
  one_time_keyboard?: boolean;
  input_field_placeholder?: string;
  selective?: boolean;
}

/**
 * An amount as the Bot API sends it: a JSON integer in the currency's smallest units (kopecks, or
 * whole Stars for XTR). Always far below 2^53, so a JSON number holds it exactly.
 */
export type TgMinorUnits = number;

export interface TgInvoice {
  title: string;
  description: string;
  start_parameter: string;
  currency: string;
  total_amount: TgMinorUnits;
}

export interface TgSuccessfulPayment {
  currency: string;
  total_amount: TgMinorUnits;
  invoice_payload: string;
  telegram_payment_charge_id: string;
  provider_payment_charge_id: string;
}

export interface TgMessage {
  message_id: number;
  from: TgUser;
  chat: TgChat;
  date: number;
  edit_date?: number;
  reply_to_message?: TgMessage;
  text?: string;
  entities?: TgMessageEntity[];
  caption?: string;
  caption_entities?: TgMessageEntity[];
  photo?: TgPhotoSize[];
  document?: TgDocument;
  invoice?: TgInvoice;
  successful_payment?: TgSuccessfulPayment;
  reply_markup?: TgInlineKeyboardMarkup;
}

export interface TgCallbackQuery {
  id: string;
  from: TgUser;
  message: TgMessage;
  chat_instance: string;
  data: string;
}

export interface TgPreCheckoutQuery {
  id: string;
  from: TgUser;
  currency: string;
  total_amount: TgMinorUnits;
  invoice_payload: string;
}

export interface TgChatMember {
  user: TgUser;
  status: "member" | "kicked";
  until_date?: number;
}

export interface TgChatMemberUpdated {
  chat: TgChat;
  from: TgUser;
  date: number;
  old_chat_member: TgChatMember;
  new_chat_member: TgChatMember;
}

export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  edited_message?: TgMessage;
  callback_query?: TgCallbackQuery;
  pre_checkout_query?: TgPreCheckoutQuery;
  my_chat_member?: TgChatMemberUpdated;
  /** Raw injection may carry any other update type. */
  [key: string]: JsonValue | object | undefined;
}

export interface TgWebhookInfo {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  max_connections?: number;
  allowed_updates?: string[];
  last_error_date?: number;
  last_error_message?: string;
}

export interface TgResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

export type TgEnvelope =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: TgResponseParameters };
