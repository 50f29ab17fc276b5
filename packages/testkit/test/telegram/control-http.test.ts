// The /__control/ HTTP API (for playing a user with curl) and the runnable bin.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { Input, Markup } from "telegraf";
import { message } from "telegraf/filters";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestPng } from "../../src/index.js";
import type { FakeTelegram, TgMessage, TgStoredMessage, TgUser } from "../../src/index.js";
import { TOKEN, launchPolling, newBot, startFake } from "./helpers.js";
import type { RunningBot } from "./helpers.js";

interface ControlAnswer<T> {
  ok: boolean;
  result: T;
  error?: string;
}

async function control<T>(
  root: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: ControlAnswer<T> }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body instanceof Uint8Array) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "content-type": "application/json", ...headers };
  }
  const res = await fetch(`${root}/__control${path}`, init);
  return { status: res.status, body: (await res.json()) as ControlAnswer<T> };
}

describe("control HTTP API", () => {
  let fake: FakeTelegram;
  let run: RunningBot;
  const result = createTestPng({ width: 300, height: 200, seed: 9 });

  beforeEach(async () => {
    fake = await startFake();
    const bot = newBot(fake);
    bot.start((ctx) =>
      ctx.reply(
        `Hi ${ctx.from.first_name}`,
        Markup.inlineKeyboard([[Markup.button.callback("Image", "img")]]),
      ),
    );
    bot.action("img", async (ctx) => {
      await ctx.answerCbQuery();
      await ctx.replyWithPhoto(Input.fromBuffer(result, "result.png"));
    });
    bot.on(message("photo"), async (ctx) => {
      const largest = ctx.message.photo[ctx.message.photo.length - 1];
      const link = await ctx.telegram.getFileLink(largest?.file_id ?? "");
      const bytes = Buffer.from(await (await fetch(link)).arrayBuffer());
      await ctx.reply(`photo ${bytes.length} bytes, caption ${ctx.message.caption ?? "-"}`);
    });
    run = await launchPolling(fake, bot);
  });
  afterEach(async () => {
    await run.stop();
    await fake.close();
  });

  it("plays a user: text, button press, photo upload, and reads the chat and the sent image back", async () => {
    const root = fake.apiRoot;
    const user = await control<TgUser>(root, "POST", "/users", {
      id: 42,
      first_name: "Kate",
      language_code: "ru",
    });
    expect(user.body.result).toEqual({ id: 42, is_bot: false, first_name: "Kate", language_code: "ru" });

    const sent = await control<{ message: TgMessage }>(root, "POST", "/users/42/text", { text: "/start" });
    expect(sent.body.result.message.entities).toEqual([{ type: "bot_command", offset: 0, length: 6 }]);
    const menu = await fake.waitForMessage(42, (m) => m.text === "Hi Kate");

    const pressed = await control<{ callback_query: { id: string } }>(root, "POST", "/users/42/press", {
      message_id: menu.message_id,
      data: "img",
    });
    expect(pressed.status).toBe(200);
    const photoMessage = await fake.waitForMessage(42, (m) => m.photo !== undefined);
    const image = await fetch(`${root}/__control/chats/42/messages/${photoMessage.message_id}/file`);
    expect(Buffer.from(await image.arrayBuffer()).equals(result)).toBe(true);

    const upload = createTestPng({ seed: 4 });
    const photo = await control<{ message: TgMessage }>(
      root,
      "POST",
      "/users/42/photo?caption=retouch",
      upload,
      {
        "content-type": "image/png",
      },
    );
    expect(photo.body.result.message.caption).toBe("retouch");
    await fake.waitForMessage(42, (m) => m.text === `photo ${upload.length} bytes, caption retouch`);

    const chat = await control<TgStoredMessage[]>(root, "GET", "/chats/42/messages");
    expect(
      chat.body.result.map((m) => [m.sender, m.message.text ?? (m.message.photo ? "[photo]" : "")]),
    ).toEqual([
      ["user", "/start"],
      ["bot", "Hi Kate"],
      ["bot", "[photo]"],
      ["user", "[photo]"],
      ["bot", `photo ${upload.length} bytes, caption retouch`],
    ]);
    const calls = await control<{ method: string; params: Record<string, unknown> }[]>(
      root,
      "GET",
      "/calls?method=sendPhoto",
    );
    expect(calls.body.result).toHaveLength(1);
    expect(calls.body.result[0]?.params["photo"]).toEqual({
      upload: "photo",
      filename: "result.png",
      size: result.length,
    });
  });

  it("injects failures and raw updates, and answers unknown routes with 404", async () => {
    const root = fake.apiRoot;
    await control(root, "POST", "/failures", {
      methods: "sendMessage",
      failure: { type: "tooManyRequests", retryAfterS: 1 },
    });
    await control(root, "POST", "/updates", {
      message: {
        message_id: 1,
        date: 0,
        chat: { id: 7, type: "private", first_name: "R" },
        from: { id: 7, is_bot: false, first_name: "R" },
        text: "/start",
        entities: [{ type: "bot_command", offset: 0, length: 6 }],
      },
    });
    const call = await fake.waitForCall("sendMessage");
    expect(call.response).toMatchObject({ ok: false, error_code: 429, parameters: { retry_after: 1 } });
    await fake.waitFor(() => run.errors.length === 1, 2_000, "the bot to see the 429");
    expect(fake.chatMessages(7).map((m) => m.sender)).toEqual([]); // a raw update is not stored as a chat message
    expect((await control(root, "GET", "/nope")).status).toBe(404);
    expect(
      (await control(root, "POST", "/users/42/press", { message_id: 99, data: "x" })).body,
    ).toMatchObject({
      ok: false,
      error: "chat 42 has no bot message 99 to press a button on",
    });
  });
});

describe("bin/fake-telegram", () => {
  it("starts on the given port, prints its apiRoot as one JSON line and serves bot and control APIs", async () => {
    const bin = fileURLToPath(new URL("../../src/bin/fake-telegram.ts", import.meta.url));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", bin, "--token", TOKEN, "--port", "0", "--quiet"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, "line")) as [string];
      const ready = JSON.parse(line) as { apiRoot: string; controlRoot: string; botUsername: string };
      expect(ready.apiRoot).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.controlRoot).toBe(`${ready.apiRoot}/__control`);
      const me = (await (await fetch(`${ready.apiRoot}/bot${TOKEN}/getMe`)).json()) as {
        result: { username: string };
      };
      expect(me.result.username).toBe(ready.botUsername);
      await control(ready.apiRoot, "POST", "/users/5/text", { text: "hello" });
      const updates = (await (await fetch(`${ready.apiRoot}/bot${TOKEN}/getUpdates`)).json()) as {
        result: { message: { text: string } }[];
      };
      expect(updates.result.map((u) => u.message.text)).toEqual(["hello"]);
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(0);
  });
});
