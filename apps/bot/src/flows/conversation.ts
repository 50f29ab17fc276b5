// Collecting a mode's input, as a pure function of (what we have, what the user sent): which photo or
// text is still missing, and which input is wrong and why. No I/O here, so every rule is unit-tested.
import { MODE_NEEDS, type Operation } from "../operations.js";

/** A photo the user sent, not yet downloaded (Telegram keeps it; we fetch it once the input is complete). */
export interface PhotoInput {
  readonly fileId: string;
  /** Telegram's size when it told us; checked again while downloading. */
  readonly sizeBytes: number | undefined;
}

export interface ModeConversation {
  readonly kind: "mode";
  readonly operation: Operation;
  readonly photos: readonly PhotoInput[];
  readonly text: string | undefined;
}

export type Purchase =
  | { readonly kind: "package"; readonly packageCode: string; readonly amountMinor: bigint }
  | { readonly kind: "custom"; readonly amountMinor: bigint };

/** Where a user is in a conversation; kept in memory only (a restart just asks again). */
export type Conversation =
  | ModeConversation
  /** The next message is a custom top-up amount. */
  | { readonly kind: "amount" }
  /** The next message is the email for the receipt of this purchase. */
  | { readonly kind: "email"; readonly purchase: Purchase };

export type UserInput =
  | { readonly kind: "text"; readonly text: string }
  /** One photo, or an album's photos together; the caption of any of them. */
  | { readonly kind: "photos"; readonly photos: readonly PhotoInput[]; readonly caption: string | undefined }
  /** A sticker, voice, video, a document that is not a JPG/PNG image … */
  | { readonly kind: "unsupported" };

export type Problem =
  | { readonly kind: "expectedPhoto" }
  | { readonly kind: "expectedText" }
  | { readonly kind: "notAnImage" }
  | { readonly kind: "photoTooLarge"; readonly maxBytes: number }
  | { readonly kind: "tooManyPhotos"; readonly expected: number }
  | { readonly kind: "promptEmpty" }
  | { readonly kind: "promptTooLong"; readonly maxChars: number };

export type Ask =
  | { readonly kind: "nextPhoto"; readonly received: number; readonly total: number }
  | { readonly kind: "text"; readonly operation: Operation };

export type Step =
  /** The input is refused; the conversation stays where it was. */
  | { readonly kind: "invalid"; readonly problem: Problem }
  | { readonly kind: "continue"; readonly conversation: ModeConversation; readonly ask: Ask }
  | {
      readonly kind: "ready";
      readonly operation: Operation;
      readonly photos: readonly PhotoInput[];
      readonly text: string;
    };

export interface InputLimits {
  readonly maxPhotoBytes: number;
  readonly promptMaxChars: number;
  readonly overlayTextMaxChars: number;
}

export function startMode(operation: Operation): ModeConversation {
  return { kind: "mode", operation, photos: [], text: undefined };
}

export function applyInput(conversation: ModeConversation, input: UserInput, limits: InputLimits): Step {
  const needs = MODE_NEEDS[conversation.operation];
  switch (input.kind) {
    case "unsupported":
      return invalid(
        needs.photos > conversation.photos.length ? { kind: "notAnImage" } : { kind: "expectedText" },
      );
    case "photos": {
      if (needs.photos === 0) return invalid({ kind: "expectedText" });
      if (conversation.photos.length + input.photos.length > needs.photos) {
        return invalid({ kind: "tooManyPhotos", expected: needs.photos });
      }
      if (
        input.photos.some((photo) => photo.sizeBytes !== undefined && photo.sizeBytes > limits.maxPhotoBytes)
      ) {
        return invalid({ kind: "photoTooLarge", maxBytes: limits.maxPhotoBytes });
      }
      let text = conversation.text;
      // A caption is the prompt (edit) or the words to draw (add_text), when the mode takes text.
      if (needs.text !== "none" && input.caption !== undefined && input.caption.trim() !== "") {
        const checked = checkText(
          input.caption,
          needs.text === "overlay" ? limits.overlayTextMaxChars : limits.promptMaxChars,
        );
        if ("problem" in checked) return invalid(checked.problem);
        text = checked.text;
      }
      return next({ ...conversation, photos: [...conversation.photos, ...input.photos], text });
    }
    case "text": {
      if (conversation.photos.length < needs.photos || needs.text === "none") {
        return invalid({ kind: "expectedPhoto" });
      }
      const checked = checkText(
        input.text,
        needs.text === "overlay" ? limits.overlayTextMaxChars : limits.promptMaxChars,
      );
      if ("problem" in checked) return invalid(checked.problem);
      return next({ ...conversation, text: checked.text });
    }
  }
}

function next(conversation: ModeConversation): Step {
  const needs = MODE_NEEDS[conversation.operation];
  if (conversation.photos.length < needs.photos) {
    return {
      kind: "continue",
      conversation,
      ask: { kind: "nextPhoto", received: conversation.photos.length, total: needs.photos },
    };
  }
  if (needs.text !== "none" && conversation.text === undefined) {
    return { kind: "continue", conversation, ask: { kind: "text", operation: conversation.operation } };
  }
  return {
    kind: "ready",
    operation: conversation.operation,
    photos: conversation.photos,
    text: conversation.text ?? "",
  };
}

function checkText(raw: string, maxChars: number): { text: string } | { problem: Problem } {
  const text = raw.trim();
  if (text === "") return { problem: { kind: "promptEmpty" } };
  // Code points, not UTF-16 units: an emoji is one character to the user.
  if ([...text].length > maxChars) return { problem: { kind: "promptTooLong", maxChars } };
  return { text };
}

function invalid(problem: Problem): Step {
  return { kind: "invalid", problem };
}

/**
 * A custom top-up amount: whole rubles ("250", "1 000"), within the bounds from billing (kopecks).
 * Anything else — "abc", "12.5", "-3", "" — is refused with the reason.
 */
export function parseRubles(
  text: string,
  bounds: { minMinor: bigint; maxMinor: bigint },
): { amountMinor: bigint } | { problem: "not_a_number" | "too_small" | "too_large" } {
  const compact = text
    .trim()
    .replace(/[\s\u00a0\u202f]/g, "")
    .replace(/(₽|руб\.?|rub|р\.?)$/i, "");
  if (!/^\d{1,9}$/.test(compact)) return { problem: "not_a_number" };
  const amountMinor = BigInt(compact) * 100n;
  if (amountMinor < bounds.minMinor) return { problem: "too_small" };
  if (amountMinor > bounds.maxMinor) return { problem: "too_large" };
  return { amountMinor };
}

/** A plausible email for the receipt (billing checks it again). */
export function parseEmail(text: string): string | undefined {
  const email = text.trim();
  if (email.length > 254 || !/^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/.test(email)) return undefined;
  return email;
}
