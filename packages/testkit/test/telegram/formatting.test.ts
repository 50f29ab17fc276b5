// Pure pieces of the fake: parse_mode → entities, and image dimension sniffing.
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { formatText } from "../../src/telegram/parse-mode.js";
import { createTestPng, sniffImage } from "../../src/index.js";

describe("formatText", () => {
  it("nests HTML entities and folds <pre><code class=language-x> into one pre entity", () => {
    expect(
      formatText(
        '<b>a <i>b</i></b>\n<pre><code class="language-ts">x &amp;&amp; y</code></pre>',
        "HTML",
        undefined,
      ),
    ).toEqual({
      text: "a b\nx && y",
      entities: [
        { type: "bold", offset: 0, length: 3 },
        { type: "italic", offset: 2, length: 1 },
        { type: "pre", offset: 4, length: 6, language: "ts" },
      ],
    });
    expect(() => formatText("<b>a</i>", "HTML", undefined)).toThrow(/Unmatched end tag at byte offset 4/);
    expect(() => formatText("<b>open", "HTML", undefined)).toThrow(
      /Can't find end tag corresponding to start tag "b"/,
    );
  });

  it("handles MarkdownV2 links, code, escapes and byte offsets of errors", () => {
    expect(formatText("[сайт](https://ex\\.am/\\(x\\)) `a_b*` ||s||", "MarkdownV2", undefined)).toEqual({
      text: "сайт a_b* s",
      entities: [
        { type: "text_link", offset: 0, length: 4, url: "https://ex.am/(x)" },
        { type: "code", offset: 5, length: 4 },
        { type: "spoiler", offset: 10, length: 1 },
      ],
    });
    // "ё" is two bytes in UTF-8: the offset is in bytes, as on the real server.
    expect(() => formatText("ё _x", "MarkdownV2", undefined)).toThrow(
      /Can't find end of Italic entity at byte offset 3/,
    );
    expect(() => formatText("1-2", "MarkdownV2", undefined)).toThrow(/Character '-' is reserved/);
  });

  it("supports legacy Markdown and trims surrounding whitespace like Telegram", () => {
    expect(formatText("  *bold* _it_ [l](https://x.y)\n", "Markdown", undefined)).toEqual({
      text: "bold it l",
      entities: [
        { type: "bold", offset: 0, length: 4 },
        { type: "italic", offset: 5, length: 2 },
        { type: "text_link", offset: 8, length: 1, url: "https://x.y" },
      ],
    });
  });

  it("detects commands, mentions, hashtags and URLs in plain text", () => {
    expect(
      formatText("/start@pix_test_bot go @alice #art https://t.me/x.", undefined, undefined).entities,
    ).toEqual([
      { type: "bot_command", offset: 0, length: 19 },
      { type: "mention", offset: 23, length: 6 },
      { type: "hashtag", offset: 30, length: 4 },
      { type: "url", offset: 35, length: 14 },
    ]);
  });
});

describe("images", () => {
  it("makes valid PNGs whose pixels differ by seed", () => {
    const a = createTestPng({ width: 3, height: 2, seed: 1 });
    const b = createTestPng({ width: 3, height: 2, seed: 2 });
    expect(sniffImage(a)).toEqual({ format: "png", width: 3, height: 2 });
    expect(a.equals(b)).toBe(false);
    const idat = a.subarray(a.indexOf("IDAT") + 4, a.indexOf("IEND") - 8);
    expect(inflateSync(idat)).toHaveLength(2 * (1 + 3 * 3));
  });

  it("reads JPEG and GIF dimensions and rejects other bytes", () => {
    const jpeg = Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80,
      0x03,
    ]);
    expect(sniffImage(jpeg)).toEqual({ format: "jpeg", width: 640, height: 480 });
    const gif = Buffer.from("GIF89a\x20\x00\x10\x00", "latin1");
    expect(sniffImage(gif)).toEqual({ format: "gif", width: 32, height: 16 });
    expect(sniffImage(Buffer.from("not an image at all"))).toBeUndefined();
  });
});
