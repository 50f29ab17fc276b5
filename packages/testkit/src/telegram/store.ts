// In-memory state of the fake: users and their private chats, messages (both directions, with
// per-chat message ids), files, callback / pre-checkout queries and Stars charges. Every collection
// has a bound; the oldest entries are evicted first.
import { randomBytes } from "node:crypto";
import { Errors } from "./api-error.js";
import type {
  TgBotUser,
  TgCallbackQuery,
  TgChat,
  TgMessage,
  TgPhotoSize,
  TgPreCheckoutQuery,
  TgReplyKeyboardMarkup,
  TgUser,
} from "./types.js";

export const LIMITS = {
  chats: 10_000,
  messagesPerChat: 1_000,
  editsKeptPerMessage: 20,
  files: 10_000,
  fileBytesTotal: 1024 * 1024 * 1024,
  queries: 10_000,
  charges: 10_000,
} as const;

/** How a test describes a user; unset fields get defaults ("User <id>", language "en"). */
export interface FakeUserInit {
  id: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface StoredMessage {
  readonly chatId: number;
  readonly messageId: number;
  readonly sender: "bot" | "user";
  /** The message as it is now (after edits). */
  message: TgMessage;
  /** Earlier versions, oldest first (bounded). */
  readonly previousVersions: TgMessage[];
  deleted: boolean;
  /** sendInvoice's payload, which Message.invoice does not show. */
  invoicePayload?: string;
}

export interface ChatState {
  readonly chat: TgChat;
  nextMessageId: number;
  readonly messages: Map<number, StoredMessage>;
  /** The reply keyboard the bot last showed here (null once removed). */
  replyKeyboard: TgReplyKeyboardMarkup | null;
  readonly chatInstance: string;
}

export interface FileRecord {
  readonly fileId: string;
  readonly fileUniqueId: string;
  readonly kind: "photo" | "document";
  readonly bytes: Buffer;
  readonly fileName?: string;
  readonly mimeType?: string;
  /** For photos: every size of the photo this file belongs to, smallest first. */
  readonly photoSizes?: TgPhotoSize[];
  filePath?: string;
}

export interface CallbackAnswer {
  text?: string;
  show_alert: boolean;
  url?: string;
  cache_time?: number;
  atMs: number;
}

export interface CallbackQueryState {
  readonly query: TgCallbackQuery;
  readonly createdAtMs: number;
  answer?: CallbackAnswer;
}

export interface PreCheckoutAnswer {
  ok: boolean;
  error_message?: string;
  atMs: number;
}

export interface PreCheckoutState {
  readonly query: TgPreCheckoutQuery;
  readonly createdAtMs: number;
  answer?: PreCheckoutAnswer;
}

export interface StarCharge {
  readonly chargeId: string;
  readonly userId: number;
  readonly currency: string;
  readonly totalAmount: number;
  refunded: boolean;
}

function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, max: number, onEvict?: (v: V) => void): void {
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done === true) break;
    const evicted = map.get(oldest.value);
    map.delete(oldest.value);
    if (evicted !== undefined) onEvict?.(evicted);
  }
}

const PHOTO_THUMB_SIDES = [90, 320, 800] as const;

export class Store {
  readonly bot: TgBotUser;
  /** The bot as Message.from shows it (a plain User). */
  readonly botUser: TgUser;
  readonly users = new Map<number, TgUser>();
  readonly blocked = new Set<number>();
  readonly chats = new Map<number, ChatState>();
  readonly files = new Map<string, FileRecord>();
  readonly filesByPath = new Map<string, FileRecord>();
  readonly callbackQueries = new Map<string, CallbackQueryState>();
  readonly preCheckoutQueries = new Map<string, PreCheckoutState>();
  readonly charges = new Map<string, StarCharge>();
  readonly commands = new Map<string, unknown[]>();
  private fileBytesTotal = 0;
  private fileCounter = 0;
  private queryCounter = 0;

  constructor(bot: TgBotUser) {
    this.bot = bot;
    this.botUser = { id: bot.id, is_bot: true, first_name: bot.first_name };
    if (bot.username !== undefined) this.botUser.username = bot.username;
  }

  /** Registers a user (or updates its profile) and opens its private chat. */
  upsertUser(init: FakeUserInit): TgUser {
    if (!Number.isSafeInteger(init.id) || init.id <= 0)
      throw new RangeError(`user id must be a positive integer: ${init.id}`);
    const existing = this.users.get(init.id);
    const user: TgUser = {
      id: init.id,
      is_bot: false,
      first_name: init.first_name ?? existing?.first_name ?? `User ${init.id}`,
    };
    const lastName = init.last_name ?? existing?.last_name;
    if (lastName !== undefined) user.last_name = lastName;
    const username = init.username ?? existing?.username;
    if (username !== undefined) user.username = username;
    user.language_code = init.language_code ?? existing?.language_code ?? "en";
    this.users.set(user.id, user);
    const chat: TgChat = { id: user.id, type: "private", first_name: user.first_name };
    if (user.last_name !== undefined) chat.last_name = user.last_name;
    if (user.username !== undefined) chat.username = user.username;
    const state = this.chats.get(user.id);
    if (state === undefined) {
      boundedSet(
        this.chats,
        user.id,
        {
          chat,
          nextMessageId: 1,
          messages: new Map(),
          replyKeyboard: null,
          chatInstance: BigInt.asIntN(64, randomBytes(8).readBigInt64BE()).toString(),
        },
        LIMITS.chats,
      );
    } else {
      Object.assign(state.chat, chat);
    }
    return user;
  }

  /** The chat a method targets: 400 "chat not found" for chats the fake never saw, 403 when blocked. */
  chatFor(chatId: number, opts: { sending: boolean }): ChatState {
    const state = this.chats.get(chatId);
    if (state === undefined) throw Errors.chatNotFound();
    if (opts.sending && this.blocked.has(chatId)) throw Errors.blocked();
    return state;
  }

  addMessage(
    state: ChatState,
    sender: "bot" | "user",
    build: (messageId: number, date: number) => TgMessage,
    nowMs: number,
  ): StoredMessage {
    const messageId = state.nextMessageId++;
    const stored: StoredMessage = {
      chatId: state.chat.id,
      messageId,
      sender,
      message: build(messageId, Math.floor(nowMs / 1000)),
      previousVersions: [],
      deleted: false,
    };
    boundedSet(state.messages, messageId, stored, LIMITS.messagesPerChat);
    return stored;
  }

  replaceMessage(stored: StoredMessage, next: TgMessage): void {
    stored.previousVersions.push(stored.message);
    if (stored.previousVersions.length > LIMITS.editsKeptPerMessage) stored.previousVersions.shift();
    stored.message = next;
  }

  private newFileIds(prefix: string): { fileId: string; fileUniqueId: string } {
    this.fileCounter++;
    return {
      fileId: `${prefix}${randomBytes(30).toString("base64url")}`,
      fileUniqueId: `AQAD${randomBytes(9).toString("base64url")}`,
    };
  }

  private storeFile(record: FileRecord, countBytes: boolean): void {
    if (countBytes) this.fileBytesTotal += record.bytes.length;
    boundedSet(this.files, record.fileId, record, LIMITS.files, (evicted) => this.forgetFile(evicted));
    // Evict by total size too, oldest first.
    for (const oldest of this.files.values()) {
      if (this.fileBytesTotal <= LIMITS.fileBytesTotal || oldest === record) break;
      this.files.delete(oldest.fileId);
      this.forgetFile(oldest);
    }
  }

  private forgetFile(record: FileRecord): void {
    if (record.filePath !== undefined) this.filesByPath.delete(record.filePath);
    // Thumbnails share the largest size's buffer, which alone is counted.
    const largest = record.photoSizes?.[record.photoSizes.length - 1];
    if (largest === undefined || largest.file_id === record.fileId)
      this.fileBytesTotal -= record.bytes.length;
  }

  /**
   * A photo as Telegram stores it: smaller sizes first, the original last. The smaller sizes are
   * placeholders that serve the same bytes (the fake does not resize); only width/height differ.
   */
  addPhoto(bytes: Buffer, width: number, height: number): TgPhotoSize[] {
    const sizes: TgPhotoSize[] = [];
    const longest = Math.max(width, height);
    const sides = [...PHOTO_THUMB_SIDES.filter((side) => side < longest), longest];
    const records: FileRecord[] = [];
    for (const side of sides) {
      const scale = side / longest;
      const ids = this.newFileIds("AgACAgIAAxkBAAI");
      sizes.push({
        file_id: ids.fileId,
        file_unique_id: ids.fileUniqueId,
        width: Math.max(1, Math.round(width * scale)),
        height: Math.max(1, Math.round(height * scale)),
        file_size: bytes.length,
      });
      records.push({ ...ids, kind: "photo", bytes, photoSizes: sizes });
    }
    records.forEach((r, i) => this.storeFile(r, i === records.length - 1));
    return sizes;
  }

  addDocument(bytes: Buffer, fileName: string, mimeType: string): FileRecord {
    const record: FileRecord = {
      ...this.newFileIds("BQACAgIAAxkBAAI"),
      kind: "document",
      bytes,
      fileName,
      mimeType,
    };
    this.storeFile(record, true);
    return record;
  }

  /** getFile: assigns the relative download path on first use, like the real server. */
  filePathOf(record: FileRecord): string {
    if (record.filePath === undefined) {
      const ext =
        record.kind === "photo" ? ".jpg" : (/\.[A-Za-z0-9]{1,8}$/.exec(record.fileName ?? "")?.[0] ?? "");
      record.filePath = `${record.kind === "photo" ? "photos" : "documents"}/file_${this.fileCounter++}${ext}`;
      this.filesByPath.set(record.filePath, record);
    }
    return record.filePath;
  }

  nextQueryId(): string {
    this.queryCounter++;
    // Real ids are large decimal strings; the random part keeps them unguessable across runs.
    return `${BigInt.asUintN(63, randomBytes(8).readBigUInt64BE()) / 1000n}${String(this.queryCounter).padStart(3, "0")}`;
  }

  addCallbackQuery(query: TgCallbackQuery, nowMs: number): CallbackQueryState {
    const state: CallbackQueryState = { query, createdAtMs: nowMs };
    boundedSet(this.callbackQueries, query.id, state, LIMITS.queries);
    return state;
  }

  addPreCheckoutQuery(query: TgPreCheckoutQuery, nowMs: number): PreCheckoutState {
    const state: PreCheckoutState = { query, createdAtMs: nowMs };
    boundedSet(this.preCheckoutQueries, query.id, state, LIMITS.queries);
    return state;
  }

  setCommands(key: string, commands: unknown[]): void {
    boundedSet(this.commands, key, commands, 1_000);
  }

  addCharge(charge: StarCharge): void {
    boundedSet(this.charges, charge.chargeId, charge, LIMITS.charges);
  }
}
