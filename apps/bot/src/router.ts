// Updates in, flows out. Each update is handled once (a redelivered update_id is skipped), one at a
// time per user (the updates of a polling batch run concurrently, and two photos of an album or a
// double tap must not race on one user's conversation), and a failing handler is logged, counted and
// answered with a short apology — it never stops the bot. Two kinds are different: a
// pre_checkout_query is answered at once, out of any lane (Telegram waits 10 s), and a
// successful_payment is taken only once billing accepted it (accept() waits, and throws
// UpdateNotAccepted if the bot stops first, so the transport never acknowledges it).
import { Code, ConnectError } from "@billing/client";
import type { CallbackQuery, Message, PreCheckoutQuery, Update, User } from "telegraf/types";
import { KeyedSerializer, Semaphore } from "./bounded.js";
import { type BotContext, say, type UserScope } from "./context.js";
import { showBalance } from "./flows/balance.js";
import type { PhotoInput, UserInput } from "./flows/conversation.js";
import { repeatJob } from "./flows/generation.js";
import { buttonKey, updateKey } from "./flows/keys.js";
import { parseCallback } from "./flows/keyboards.js";
import { chooseMode, modeInput } from "./flows/modes.js";
import { help, showMenu, start } from "./flows/start.js";
import { answerPreCheckout, chooseStars, completeStars, UpdateNotAccepted } from "./flows/stars.js";
import { buyPackage, chooseCustomAmount, typedAmount, typedEmail } from "./flows/topup.js";
import { catalogue, localeOf } from "./i18n/index.js";
import { describeError } from "./telegram/redact.js";

/** Telegram albums have at most 10 items. */
const ALBUM_MAX_PHOTOS = 10;
const ALBUMS_PENDING_MAX = 1_000;
/** Updates taken and not yet handled; beyond it intake waits (bounded memory under a crowd). */
const HANDLERS_IN_FLIGHT_MAX = 2_000;
/** Handlers running at once (calling billing); the others wait their turn, "typing…" already shown. */
const HANDLERS_RUNNING_MAX = 64;
const IMAGE_DOCUMENT_TYPES = new Set(["image/jpeg", "image/png"]);
/** pre_checkout_query answers in flight at once (each bounded by Telegram's 10 s). */
const PRE_CHECKOUTS_RUNNING_MAX = 32;

export interface Router {
  /** Handles one update; resolves when it is handled (its replies queued, not delivered). */
  handle(update: Update): Promise<void>;
  /**
   * Starts handling one update and resolves as soon as it is taken: at once, unless
   * HANDLERS_IN_FLIGHT_MAX updates are being handled already (then when one of them ends). Intake
   * never waits for the replies of earlier updates.
   */
  accept(update: Update): Promise<void>;
  /** Stops taking updates and waits for the running handlers (bounded by the caller). */
  close(): Promise<void>;
}

interface PendingAlbum {
  readonly scope: UserScope;
  readonly photos: PhotoInput[];
  caption: string | undefined;
  lastUpdateId: number;
  timer: NodeJS.Timeout | undefined;
}

export function createRouter(ctx: BotContext): Router {
  const serializer = new KeyedSerializer<number>();
  const running = new Semaphore(HANDLERS_RUNNING_MAX);
  const albums = new Map<string, PendingAlbum>();
  const preCheckouts = new Semaphore(PRE_CHECKOUTS_RUNNING_MAX);
  const stopping = new AbortController();
  let closed = false;

  const scopeOf = (from: User, chatId: number): UserScope => {
    const locale = localeOf(from.language_code, ctx.config.defaultLocale);
    ctx.memory.locales.set(from.id, locale);
    return { userId: from.id, chatId, locale, t: catalogue(locale), name: from.first_name };
  };

  /** Runs a handler in the user's lane; an error becomes a log line, a metric and an apology. */
  const safely = (scope: UserScope, updateId: number, work: () => Promise<void>): Promise<void> =>
    serializer.run(scope.userId, async () => {
      try {
        await running.run(work);
      } catch (error) {
        ctx.metrics.handlerErrors.inc();
        ctx.log.error(
          { update_id: updateId, user_id: scope.userId, error: describeError(error, ctx.redact) },
          "update handler failed",
        );
        const unavailable =
          error instanceof ConnectError &&
          (error.code === Code.Unavailable || error.code === Code.DeadlineExceeded);
        say(ctx, scope.chatId, unavailable ? scope.t.error.unavailable : scope.t.error.apology);
      }
    });

  /** What the user sent, when a conversation expects input. */
  const dispatchInput = async (scope: UserScope, input: UserInput, key: string): Promise<void> => {
    const conversation = ctx.memory.conversations.get(scope.userId);
    switch (conversation?.kind) {
      case "mode":
        return modeInput(ctx, scope, conversation, input, key);
      case "amount":
        if (input.kind === "text") return typedAmount(ctx, scope, input.text, key);
        say(ctx, scope.chatId, scope.t.topUp.notANumber);
        return;
      case "email":
        if (input.kind === "text") return typedEmail(ctx, scope, input.text, conversation.purchase, key);
        say(ctx, scope.chatId, scope.t.topUp.emailInvalid);
        return;
      case undefined:
        return showMenu(ctx, scope, scope.t.unknownInput);
    }
  };

  const onMessage = async (updateId: number, message: Message): Promise<void> => {
    const from = message.from;
    if (message.chat.type !== "private" || from === undefined || from.is_bot) return;
    if ("successful_payment" in message) {
      // Not `safely`: an error must reach accept() so the update stays unacknowledged.
      const scope = scopeOf(from, message.chat.id);
      await serializer.run(scope.userId, () => completeStars(ctx, scope, message, stopping.signal));
      return;
    }
    // The user sees "typing…" at once, whatever the reply waits for (billing, the send budget).
    void ctx.signals.chatAction(message.chat.id, "typing");
    const scope = scopeOf(from, message.chat.id);
    const groupId = "media_group_id" in message ? message.media_group_id : undefined;
    const input = inputOf(message);
    if (groupId !== undefined && input.kind === "photos" && ctx.config.limits.albumSettleMs > 0) {
      collectAlbum(scope, groupId, input, updateId);
      return;
    }
    await safely(scope, updateId, async () => {
      const command = commandOf(message);
      if (command !== undefined) {
        // A command always leaves the conversation: /start in the middle of a top-up starts over.
        ctx.memory.conversations.delete(scope.userId);
        switch (command) {
          case "start":
            return start(ctx, scope);
          case "balance":
            return showBalance(ctx, scope);
          case "help":
            return help(ctx, scope);
          default:
            return showMenu(ctx, scope);
        }
      }
      await dispatchInput(scope, input, updateKey(ctx.botId, updateId));
    });
  };

  /**
   * Album items arrive as separate updates moments apart: they are gathered for albumSettleMs and
   * handled as one input, so "three photos for a two-photo mode" is refused as a whole.
   */
  const collectAlbum = (
    scope: UserScope,
    groupId: string,
    input: Extract<UserInput, { kind: "photos" }>,
    updateId: number,
  ) => {
    const key = `${scope.userId}:${groupId}`;
    let album = albums.get(key);
    if (album === undefined) {
      if (albums.size >= ALBUMS_PENDING_MAX) {
        void safely(scope, updateId, () => dispatchInput(scope, input, updateKey(ctx.botId, updateId)));
        return;
      }
      album = { scope, photos: [], caption: undefined, lastUpdateId: updateId, timer: undefined };
      albums.set(key, album);
    }
    clearTimeout(album.timer);
    if (album.photos.length < ALBUM_MAX_PHOTOS) album.photos.push(...input.photos);
    album.caption ??= input.caption;
    album.lastUpdateId = Math.max(album.lastUpdateId, updateId);
    const pending = album;
    pending.timer = setTimeout(() => {
      albums.delete(key);
      const gathered: UserInput = { kind: "photos", photos: pending.photos, caption: pending.caption };
      void safely(pending.scope, pending.lastUpdateId, () =>
        dispatchInput(pending.scope, gathered, updateKey(ctx.botId, pending.lastUpdateId)),
      );
    }, ctx.config.limits.albumSettleMs);
  };

  const onCallback = async (updateId: number, query: CallbackQuery): Promise<void> => {
    const message = query.message;
    // Stops the button's spinner at once, out of band: the work and the reply may take a while.
    void ctx.signals.answerCallback(query.id);
    if (message === undefined || message.chat.type !== "private" || !("data" in query)) return;
    const scope = scopeOf(query.from, message.chat.id);
    const data = query.data;
    const key = buttonKey(ctx.botId, message.chat.id, message.message_id, data);
    await safely(scope, updateId, async () => {
      const callback = parseCallback(data);
      switch (callback.kind) {
        case "menu":
          ctx.memory.conversations.delete(scope.userId);
          return showMenu(ctx, scope);
        case "pay":
          ctx.memory.conversations.delete(scope.userId);
          return showBalance(ctx, scope);
        case "mode":
          return chooseMode(ctx, scope, callback.operation);
        case "buy":
          ctx.memory.conversations.delete(scope.userId);
          return buyPackage(ctx, scope, callback.packageCode, key);
        case "custom":
          return chooseCustomAmount(ctx, scope);
        case "stars":
          ctx.memory.conversations.delete(scope.userId);
          return chooseStars(ctx, scope);
        case "again":
          ctx.memory.conversations.delete(scope.userId);
          await repeatJob(ctx, scope, callback.jobId, key);
          return;
        case "unknown":
          return showMenu(ctx, scope);
      }
    });
  };

  const onPreCheckout = (query: PreCheckoutQuery): Promise<void> => {
    const locale = localeOf(query.from.language_code, ctx.config.defaultLocale);
    return preCheckouts.run(() => answerPreCheckout(ctx, catalogue(locale), query));
  };

  let inFlight = 0;
  let admitted: (() => void)[] = [];
  const handle = async (update: Update): Promise<void> => {
    if (closed) {
      if (needsAcceptance(update)) throw new UpdateNotAccepted("the bot is stopping");
      return;
    }
    const type =
      "message" in update
        ? "message"
        : "callback_query" in update
          ? "callback_query"
          : "pre_checkout_query" in update
            ? "pre_checkout_query"
            : "other";
    ctx.metrics.updates.inc({ type });
    // A payment handed over again is billing's to deduplicate (once per charge): a redelivery after a
    // lost acknowledgement must reach billing, never be skipped here.
    if (!needsAcceptance(update) && !ctx.memory.seenUpdates.addIfAbsent(update.update_id)) {
      ctx.log.info({ update_id: update.update_id }, "update delivered again; already handled");
      return;
    }
    if ("message" in update) await onMessage(update.update_id, update.message);
    else if ("callback_query" in update) await onCallback(update.update_id, update.callback_query);
    else if ("pre_checkout_query" in update) await onPreCheckout(update.pre_checkout_query);
  };

  const release = () => {
    inFlight--;
    const waiting = admitted;
    admitted = [];
    for (const wake of waiting) wake();
  };

  return {
    handle,
    async accept(update) {
      while (inFlight >= HANDLERS_IN_FLIGHT_MAX) await new Promise<void>((resolve) => admitted.push(resolve));
      inFlight++;
      if (needsAcceptance(update)) {
        try {
          await handle(update);
        } finally {
          release();
        }
        return;
      }
      void handle(update)
        .catch((error: unknown) => {
          ctx.metrics.handlerErrors.inc();
          ctx.log.error(
            { update_id: update.update_id, error: describeError(error, ctx.redact) },
            "unhandled error in an update handler",
          );
        })
        .finally(release);
    },
    async close() {
      closed = true;
      // Payments still waiting for billing give up: their updates stay unacknowledged.
      stopping.abort();
      // Albums still gathering are dropped: the user is asked again after the restart.
      for (const album of albums.values()) clearTimeout(album.timer);
      albums.clear();
      await serializer.idle();
      while (inFlight > 0) await new Promise<void>((resolve) => admitted.push(resolve));
    },
  };
}

/** A successful_payment: taken only once billing has accepted it. */
export function needsAcceptance(update: Update): boolean {
  return "message" in update && "successful_payment" in update.message;
}

/** A command when the message starts with a bot_command entity (as Telegram marks them). */
export function commandOf(message: Message): string | undefined {
  if (!("text" in message)) return undefined;
  const entity = message.entities?.[0];
  if (entity?.type !== "bot_command" || entity.offset !== 0) return undefined;
  const command = message.text.slice(1, entity.length).split("@")[0];
  return command?.toLowerCase();
}

export function inputOf(message: Message): UserInput {
  if ("text" in message) return { kind: "text", text: message.text };
  const caption = "caption" in message ? message.caption : undefined;
  if ("photo" in message) {
    // Smallest first: the last size is the original.
    const largest = message.photo.at(-1);
    if (largest === undefined) return { kind: "unsupported" };
    return { kind: "photos", photos: [{ fileId: largest.file_id, sizeBytes: largest.file_size }], caption };
  }
  if ("document" in message && IMAGE_DOCUMENT_TYPES.has(message.document.mime_type ?? "")) {
    return {
      kind: "photos",
      photos: [{ fileId: message.document.file_id, sizeBytes: message.document.file_size }],
      caption,
    };
  }
  return { kind: "unsupported" };
}
