// parse_mode handling: turns HTML / MarkdownV2 / Markdown into plain text plus entities, refusing the
// inputs the real server refuses (an unescaped "." in MarkdownV2, an unknown HTML tag, an unclosed
// entity) with the same "can't parse entities" 400. Offsets are UTF-16 code units, as in the Bot API.
// Also adds the entities Telegram detects by itself (bot_command, mention, hashtag, url).
import { badRequest } from "./api-error.js";
import type { TelegramApiError } from "./api-error.js";
import type { TgMessageEntity } from "./types.js";

export interface FormattedText {
  text: string;
  entities: TgMessageEntity[];
}

export type ParseMode = "HTML" | "MarkdownV2" | "Markdown";

const MAX_NESTING = 32;

function parseError(detail: string): TelegramApiError {
  return badRequest(`can't parse entities: ${detail}`);
}

function byteOffset(src: string, index: number): number {
  return Buffer.byteLength(src.slice(0, index), "utf8");
}

interface OpenEntity {
  key: string;
  type: string;
  start: number;
  srcIndex: number;
  url?: string;
  language?: string;
  customEmojiId?: string;
}

function closeEntity(open: OpenEntity, end: number, entities: TgMessageEntity[]): void {
  if (end <= open.start) return; // empty entities are dropped, as on the real server
  const entity: TgMessageEntity = { type: open.type, offset: open.start, length: end - open.start };
  if (open.url !== undefined) entity.url = open.url;
  if (open.language !== undefined) entity.language = open.language;
  if (open.customEmojiId !== undefined) entity.custom_emoji_id = open.customEmojiId;
  entities.push(entity);
}

// ---- HTML ----

const HTML_TAGS: Record<string, string> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  code: "code",
  pre: "pre",
  a: "text_link",
  blockquote: "blockquote",
  "tg-emoji": "custom_emoji",
  span: "spoiler",
};

function parseAttributes(raw: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([a-zA-Z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  for (let m = re.exec(raw), guard = 0; m !== null && guard < 64; m = re.exec(raw), guard++) {
    const name = (m[1] ?? "").toLowerCase();
    attrs.set(name, decodeHtmlEntities(m[2] ?? m[3] ?? m[4] ?? ""));
  }
  return attrs;
}

function decodeHtmlEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (whole, name: string) => {
    if (name === "lt") return "<";
    if (name === "gt") return ">";
    if (name === "amp") return "&";
    if (name === "quot") return '"';
    const code = name.startsWith("#x") ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function parseHtml(src: string): FormattedText {
  let text = "";
  const entities: TgMessageEntity[] = [];
  const stack: OpenEntity[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "<") {
      const end = src.indexOf(">", i);
      if (end < 0) throw parseError(`Unclosed start tag at byte offset ${byteOffset(src, i)}`);
      const raw = src.slice(i + 1, end);
      if (raw.startsWith("/")) {
        const name = raw.slice(1).trim().toLowerCase();
        const top = stack.pop();
        if (top === undefined) throw parseError(`Unexpected end tag at byte offset ${byteOffset(src, i)}`);
        if (top.key !== name) {
          throw parseError(
            `Unmatched end tag at byte offset ${byteOffset(src, i)}, expected "</${top.key}>", found "</${name}>"`,
          );
        }
        const parent = stack[stack.length - 1];
        if (top.type === "code" && parent?.type === "pre" && top.language !== undefined) {
          parent.language = top.language; // <pre><code class="language-x"> is one pre entity
        } else {
          closeEntity(top, text.length, entities);
        }
      } else {
        const m = /^([a-zA-Z][a-zA-Z0-9-]*)([\s\S]*)$/.exec(raw);
        const name = (m?.[1] ?? "").toLowerCase();
        const type = HTML_TAGS[name];
        if (m === null || type === undefined) {
          throw parseError(`Unsupported start tag "${name}" at byte offset ${byteOffset(src, i)}`);
        }
        if (stack.length >= MAX_NESTING) throw parseError("too many nested entities");
        const attrs = parseAttributes(m[2] ?? "");
        const open: OpenEntity = { key: name, type, start: text.length, srcIndex: i };
        if (name === "span" && attrs.get("class") !== "tg-spoiler") {
          throw parseError(`Unsupported start tag "span" at byte offset ${byteOffset(src, i)}`);
        }
        if (name === "a") open.url = attrs.get("href") ?? "";
        if (name === "code") {
          const lang = /^language-(.+)$/.exec(attrs.get("class") ?? "")?.[1];
          if (lang !== undefined) open.language = lang;
        }
        if (name === "blockquote" && attrs.has("expandable")) open.type = "expandable_blockquote";
        if (name === "tg-emoji") open.customEmojiId = attrs.get("emoji-id") ?? "";
        stack.push(open);
      }
      i = end + 1;
      continue;
    }
    if (c === "&") {
      const m = /^&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/.exec(src.slice(i, i + 12));
      if (m !== null) {
        text += decodeHtmlEntities(m[0]);
        i += m[0].length;
        continue;
      }
    }
    text += c;
    i++;
  }
  const unclosed = stack[stack.length - 1];
  if (unclosed !== undefined) {
    throw parseError(`Can't find end tag corresponding to start tag "${unclosed.key}"`);
  }
  return { text, entities };
}

// ---- MarkdownV2 ----

const MDV2_RESERVED = new Set([..."_*[]()~`>#+-=|{}.!"]);
const MDV2_NAMES: Record<string, string> = {
  bold: "Bold",
  italic: "Italic",
  underline: "Underline",
  strikethrough: "Strikethrough",
  spoiler: "Spoiler",
  text_link: "TextUrl",
};

function parseMarkdownV2(src: string): FormattedText {
  let text = "";
  const entities: TgMessageEntity[] = [];
  const stack: OpenEntity[] = [];
  let quote: OpenEntity | undefined;
  let i = 0;
  const toggle = (key: string, type: string, width: number): void => {
    const at = stack.findIndex((e) => e.key === key);
    if (at >= 0) {
      const [open] = stack.splice(at, 1);
      if (open !== undefined) closeEntity(open, text.length, entities);
    } else {
      if (stack.length >= MAX_NESTING) throw parseError("too many nested entities");
      stack.push({ key, type, start: text.length, srcIndex: i });
    }
    i += width;
  };
  while (i < src.length) {
    const c = src[i] ?? "";
    const atLineStart = i === 0 || src[i - 1] === "\n";
    if (c === "\\") {
      const next = src[i + 1];
      if (next !== undefined && next.charCodeAt(0) >= 1 && next.charCodeAt(0) <= 126) {
        text += next;
        i += 2;
        continue;
      }
      throw parseError(`Character '\\' is reserved and must be escaped with the preceding '\\'`);
    }
    if (c === "\n" && quote !== undefined && src[i + 1] !== ">") {
      closeEntity(quote, text.length, entities);
      quote = undefined;
    }
    if (c === ">" && atLineStart) {
      if (quote === undefined) quote = { key: ">", type: "blockquote", start: text.length, srcIndex: i };
      i++;
      continue;
    }
    if (c === "*") {
      toggle("*", "bold", 1);
      continue;
    }
    if (c === "_") {
      if (src[i + 1] === "_") toggle("__", "underline", 2);
      else toggle("_", "italic", 1);
      continue;
    }
    if (c === "~") {
      toggle("~", "strikethrough", 1);
      continue;
    }
    if (c === "|" && src[i + 1] === "|") {
      toggle("||", "spoiler", 2);
      continue;
    }
    if (c === "`") {
      const isPre = src.startsWith("```", i);
      const fence = isPre ? "```" : "`";
      let j = i + fence.length;
      let body = "";
      let language: string | undefined;
      if (isPre) {
        const nl = src.indexOf("\n", j);
        const close = src.indexOf("```", j);
        if (nl >= 0 && (close < 0 || nl < close)) {
          const lang = src.slice(j, nl);
          if (lang !== "") language = lang;
          j = nl + 1;
        }
      }
      let closed = false;
      while (j < src.length) {
        if (src[j] === "\\" && j + 1 < src.length) {
          body += src[j + 1];
          j += 2;
          continue;
        }
        if (src.startsWith(fence, j)) {
          closed = true;
          break;
        }
        body += src[j];
        j++;
      }
      if (!closed) {
        throw parseError(
          `Can't find end of ${isPre ? "Pre" : "Code"} entity at byte offset ${byteOffset(src, i)}`,
        );
      }
      const open: OpenEntity = { key: fence, type: isPre ? "pre" : "code", start: text.length, srcIndex: i };
      if (language !== undefined) open.language = language;
      text += body;
      closeEntity(open, text.length, entities);
      i = j + fence.length;
      continue;
    }
    if (c === "[") {
      if (stack.length >= MAX_NESTING) throw parseError("too many nested entities");
      stack.push({ key: "[", type: "text_link", start: text.length, srcIndex: i });
      i++;
      continue;
    }
    if (c === "]" && stack.some((e) => e.key === "[")) {
      const at = stack.findIndex((e) => e.key === "[");
      const [open] = stack.splice(at, 1);
      if (src[i + 1] !== "(" || open === undefined) {
        throw parseError(`Can't find end of a URL at byte offset ${byteOffset(src, i)}`);
      }
      let j = i + 2;
      let url = "";
      while (j < src.length && src[j] !== ")") {
        if (src[j] === "\\" && j + 1 < src.length) {
          url += src[j + 1];
          j += 2;
          continue;
        }
        url += src[j];
        j++;
      }
      if (j >= src.length) throw parseError(`Can't find end of a URL at byte offset ${byteOffset(src, i)}`);
      open.url = url;
      closeEntity(open, text.length, entities);
      i = j + 1;
      continue;
    }
    if (MDV2_RESERVED.has(c)) {
      throw parseError(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    }
    text += c;
    i++;
  }
  if (quote !== undefined) closeEntity(quote, text.length, entities);
  const unclosed = stack[0];
  if (unclosed !== undefined) {
    const name = MDV2_NAMES[unclosed.type] ?? unclosed.type;
    throw parseError(`Can't find end of ${name} entity at byte offset ${byteOffset(src, unclosed.srcIndex)}`);
  }
  return { text, entities };
}

// ---- legacy Markdown ----

function parseMarkdown(src: string): FormattedText {
  let text = "";
  const entities: TgMessageEntity[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? "";
    if (c === "\\" && "_*`[".includes(src[i + 1] ?? "x")) {
      text += src[i + 1];
      i += 2;
      continue;
    }
    if (c === "*" || c === "_" || c === "`") {
      const fence = c === "`" && src.startsWith("```", i) ? "```" : c;
      const close = src.indexOf(fence, i + fence.length);
      if (close < 0)
        throw parseError(`Can't find end of the entity starting at byte offset ${byteOffset(src, i)}`);
      let body = src.slice(i + fence.length, close);
      const open: OpenEntity = {
        key: fence,
        type: fence === "*" ? "bold" : fence === "_" ? "italic" : fence === "`" ? "code" : "pre",
        start: text.length,
        srcIndex: i,
      };
      if (fence === "```") {
        const nl = body.indexOf("\n");
        if (nl > 0 && !/\s/.test(body.slice(0, nl))) {
          open.language = body.slice(0, nl);
          body = body.slice(nl + 1);
        }
      }
      text += body;
      closeEntity(open, text.length, entities);
      i = close + fence.length;
      continue;
    }
    if (c === "[") {
      const m = /^\[([^\]]*)\]\(([^)]*)\)/.exec(src.slice(i));
      if (m === null)
        throw parseError(`Can't find end of the entity starting at byte offset ${byteOffset(src, i)}`);
      const open: OpenEntity = {
        key: "[",
        type: "text_link",
        start: text.length,
        srcIndex: i,
        url: m[2] ?? "",
      };
      text += m[1] ?? "";
      closeEntity(open, text.length, entities);
      i += m[0].length;
      continue;
    }
    text += c;
    i++;
  }
  return { text, entities };
}

// ---- shared ----

/** Telegram strips leading and trailing whitespace of a message; entities are clipped to match. */
function trim(formatted: FormattedText): FormattedText {
  const lead = /^\s*/.exec(formatted.text)?.[0].length ?? 0;
  const trail = /\s*$/.exec(formatted.text.slice(lead))?.[0].length ?? 0;
  const text = formatted.text.slice(lead, formatted.text.length - trail);
  const entities: TgMessageEntity[] = [];
  for (const e of formatted.entities) {
    const start = Math.max(0, e.offset - lead);
    const end = Math.min(text.length, e.offset + e.length - lead);
    if (end > start) entities.push({ ...e, offset: start, length: end - start });
  }
  return { text, entities };
}

const AUTO_PATTERNS: { type: string; re: RegExp }[] = [
  { type: "bot_command", re: /(?<=^|\s)\/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?(?![a-zA-Z0-9_@/])/g },
  { type: "mention", re: /(?<=^|[\s(])@[a-zA-Z][a-zA-Z0-9_]{3,31}(?![a-zA-Z0-9_])/g },
  { type: "hashtag", re: /(?<=^|\s)#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*/gu },
  { type: "url", re: /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'"]/g },
];
const OPAQUE = new Set(["code", "pre", "text_link", "url", "email"]);

/** The entities the real server adds to every text (commands, mentions, hashtags, URLs). */
export function detectEntities(text: string, existing: readonly TgMessageEntity[] = []): TgMessageEntity[] {
  const found: TgMessageEntity[] = [];
  for (const { type, re } of AUTO_PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text), guard = 0; m !== null && guard < 1000; m = re.exec(text), guard++) {
      const offset = m.index;
      const end = offset + m[0].length;
      const overlaps = [...existing, ...found].some(
        (e) => (OPAQUE.has(e.type) || e.type === type) && e.offset < end && offset < e.offset + e.length,
      );
      if (!overlaps) found.push({ type, offset, length: m[0].length });
    }
  }
  return found;
}

export function sortEntities(entities: TgMessageEntity[]): TgMessageEntity[] {
  return entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/**
 * The text and entities a message ends up with. `explicit` are the entities the caller passed
 * (entities / caption_entities), used as given when there is no parse_mode.
 */
export function formatText(
  raw: string,
  parseMode: string | undefined,
  explicit: readonly TgMessageEntity[] | undefined,
): FormattedText {
  let formatted: FormattedText;
  switch (parseMode) {
    case undefined:
    case "":
      formatted = { text: raw, entities: explicit === undefined ? [] : [...explicit] };
      break;
    case "HTML":
    case "html":
      formatted = parseHtml(raw);
      break;
    case "MarkdownV2":
    case "markdownv2":
      formatted = parseMarkdownV2(raw);
      break;
    case "Markdown":
    case "markdown":
      formatted = parseMarkdown(raw);
      break;
    default:
      throw badRequest(`unsupported parse_mode`);
  }
  const trimmed = trim(formatted);
  return {
    text: trimmed.text,
    entities: sortEntities([...trimmed.entities, ...detectEntities(trimmed.text, trimmed.entities)]),
  };
}
