// `npm run play`: play a Telegram user against the local stack's Telegram fake (its /__control API),
// and see what the bot answers. Steps run in order:
//
//   npm run play -- --user 42 /start                      send a text (commands too)
//   npm run play -- --user 42 "press:Create" "a red fox"  press a button by (part of) its label, then send text
//   npm run play -- --user 42 press:Retouch photo:./face.png
//   npm run play -- --user 42 photo:./a.png:caption text  a photo with a caption
//   npm run play -- --user 42 press:Pay "press:100" pay   top up 100 ₽ and pay it at the YooKassa fake
//   npm run play -- --user 42 press:Pay press:Stars "press:⭐ 50" pay:stars
//                                                         top up with Telegram Stars: the bot's newest
//                                                         invoice is paid in the fake (pre-checkout, then
//                                                         successful_payment if the bot said ok)
//   npm run play -- --user 42 --lang en -i                interactive: one step per line
//
// Options: --user <id> (default 42), --name <first name>, --lang ru|en (language_code),
// --telegram <control url> (default $FAKE_TELEGRAM_CONTROL or http://127.0.0.1:8081/__control),
// --yookassa <control url> (default $FAKE_YOOKASSA_CONTROL or http://127.0.0.1:8089/__control),
// --quiet-ms <ms> how long the bot must stay silent before the next step (default 2000).
// Photos the bot sends are saved under $TMPDIR/billing-play/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";

interface Button {
  text: string;
  callback_data?: string;
  url?: string;
}

interface Message {
  message_id: number;
  text?: string;
  caption?: string;
  photo?: { width: number; height: number; file_size?: number }[];
  reply_markup?: { inline_keyboard?: Button[][] };
  invoice?: { title: string; description: string; currency: string; total_amount: number };
}

interface Stored {
  messageId: number;
  sender: "bot" | "user";
  message: Message;
  deleted: boolean;
}

interface Options {
  user: number;
  name: string;
  lang: string;
  telegram: string;
  yookassa: string;
  quietMs: number;
  interactive: boolean;
  steps: string[];
}

const MAX_WAIT_MS = 60_000;
const POLL_MS = 200;

function parse(argv: string[]): Options {
  const options: Options = {
    user: 42,
    name: "Player",
    lang: "ru",
    telegram: process.env["FAKE_TELEGRAM_CONTROL"] ?? "http://127.0.0.1:8081/__control",
    yookassa: process.env["FAKE_YOOKASSA_CONTROL"] ?? "http://127.0.0.1:8089/__control",
    quietMs: 2_000,
    interactive: false,
    steps: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case "--user":
        options.user = Number(value());
        if (!Number.isSafeInteger(options.user) || options.user <= 0)
          throw new Error("--user must be a positive id");
        break;
      case "--name":
        options.name = value();
        break;
      case "--lang":
        options.lang = value();
        break;
      case "--telegram":
        options.telegram = value();
        break;
      case "--yookassa":
        options.yookassa = value();
        break;
      case "--quiet-ms":
        options.quietMs = Number(value());
        break;
      case "-i":
      case "--interactive":
        options.interactive = true;
        break;
      default:
        options.steps.push(arg);
    }
  }
  return options;
}

async function control<T>(
  base: string,
  path: string,
  init?: { method: string; body?: string | Uint8Array; type?: string },
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: init?.method ?? "GET",
    ...(init?.body === undefined
      ? {}
      : { body: init.body, headers: { "content-type": init.type ?? "application/json" } }),
  });
  const text = await response.text();
  let parsed: { ok?: boolean; result?: T; error?: string } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON (e.g. a redirect page of the YooKassa fake)
  }
  if (!response.ok || parsed?.ok === false) {
    throw new Error(`${path}: HTTP ${response.status} ${parsed?.error ?? text.slice(0, 200)}`);
  }
  return (parsed?.result ?? parsed) as T;
}

class Player {
  private seen = 0;

  constructor(private readonly options: Options) {}

  async join(): Promise<void> {
    await control(this.options.telegram, "/users", {
      method: "POST",
      body: JSON.stringify({
        id: this.options.user,
        first_name: this.options.name,
        language_code: this.options.lang,
      }),
    });
    this.seen = (await this.chat()).length;
  }

  private async chat(): Promise<Stored[]> {
    return control<Stored[]>(this.options.telegram, `/chats/${this.options.user}/messages`).catch(() => []);
  }

  private async botMessages(): Promise<Stored[]> {
    return (await this.chat()).filter((m) => m.sender === "bot" && !m.deleted);
  }

  async step(step: string): Promise<void> {
    const user = this.options.user;
    if (step.startsWith("press:")) {
      const label = step.slice("press:".length).toLowerCase();
      const messages = (await this.botMessages()).reverse();
      for (const stored of messages) {
        const button = (stored.message.reply_markup?.inline_keyboard ?? [])
          .flat()
          .find((b) => b.callback_data !== undefined && b.text.toLowerCase().includes(label));
        if (button?.callback_data !== undefined) {
          console.log(`\u001b[36m> [${button.text}]\u001b[0m`);
          await control(this.options.telegram, `/users/${user}/press`, {
            method: "POST",
            body: JSON.stringify({ message_id: stored.messageId, data: button.callback_data }),
          });
          return this.listen();
        }
      }
      throw new Error(`no button labelled like "${label}" in the bot's messages`);
    }
    if (step.startsWith("photo:")) {
      const [path = "", ...caption] = step.slice("photo:".length).split(":");
      const bytes = readFileSync(path);
      const query = caption.length > 0 ? `?caption=${encodeURIComponent(caption.join(":"))}` : "";
      console.log(
        `\u001b[36m> [photo ${path}${caption.length > 0 ? ` "${caption.join(":")}"` : ""}]\u001b[0m`,
      );
      await control(this.options.telegram, `/users/${user}/photo${query}`, {
        method: "POST",
        body: bytes,
        type: path.endsWith(".png") ? "image/png" : "image/jpeg",
      });
      return this.listen();
    }
    if (step === "pay" || step === "pay:decline") {
      const link = (await this.botMessages())
        .flatMap((m) => (m.message.reply_markup?.inline_keyboard ?? []).flat())
        .map((b) => b.url)
        .filter((url): url is string => url !== undefined && url.includes("/checkout/"))
        .at(-1);
      if (link === undefined) throw new Error("no payment link in the bot's messages yet");
      const paymentId =
        link.slice(link.lastIndexOf("/checkout/") + "/checkout/".length).split(/[?#]/)[0] ?? "";
      const action = step === "pay" ? "pay" : "decline";
      console.log(`\u001b[36m> (${action} ${paymentId} at the YooKassa fake)\u001b[0m`);
      await control(this.options.yookassa, `/payments/${paymentId}/${action}`, {
        method: "POST",
        body: "{}",
      });
      return this.listen();
    }
    if (step === "pay:stars") {
      const invoice = (await this.botMessages()).filter((m) => m.message.invoice !== undefined).at(-1);
      if (invoice === undefined) throw new Error("no Stars invoice in the bot's messages yet");
      const { title = "", total_amount: amount = 0 } = invoice.message.invoice ?? {};
      console.log(`\u001b[36m> (pay "${title}", ${amount} ⭐, in the Telegram fake)\u001b[0m`);
      const outcome = await control<{ status: string; errorMessage?: string }>(
        this.options.telegram,
        `/users/${user}/pay`,
        { method: "POST", body: JSON.stringify({ message_id: invoice.messageId }) },
      );
      const why = outcome.errorMessage === undefined ? "" : `: ${outcome.errorMessage}`;
      console.log(`\u001b[2m(Telegram: ${outcome.status}${why})\u001b[0m`);
      return this.listen();
    }
    if (step.startsWith("wait:")) {
      await new Promise((resolve) => setTimeout(resolve, Number(step.slice(5))));
      return this.listen();
    }
    console.log(`\u001b[36m> ${step}\u001b[0m`);
    await control(this.options.telegram, `/users/${user}/text`, {
      method: "POST",
      body: JSON.stringify({ text: step }),
    });
    return this.listen();
  }

  /** Prints the bot's new messages until it has been quiet for quietMs (or MAX_WAIT_MS passed). */
  async listen(): Promise<void> {
    const started = Date.now();
    let lastNewAt = Date.now();
    let any = false;
    while (Date.now() - started < MAX_WAIT_MS) {
      const chat = await this.chat();
      for (const stored of chat.slice(this.seen)) {
        if (stored.sender === "bot") {
          await this.print(stored);
          any = true;
        }
        lastNewAt = Date.now();
      }
      this.seen = chat.length;
      // "⏳" means a job is running: the picture follows, keep listening.
      const last = chat.at(-1);
      const waitingForJob = last?.sender === "bot" && (last.message.text ?? "").startsWith("⏳");
      if (any && !waitingForJob && Date.now() - lastNewAt >= this.options.quietMs) return;
      if (!any && Date.now() - started >= Math.max(this.options.quietMs, 5_000)) {
        console.log("\u001b[2m(no answer)\u001b[0m");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async print(stored: Stored): Promise<void> {
    const m = stored.message;
    if (m.photo !== undefined) {
      const largest = m.photo.at(-1);
      const dir = join(tmpdir(), "billing-play");
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${this.options.user}-${stored.messageId}.png`);
      const response = await fetch(
        `${this.options.telegram}/chats/${this.options.user}/messages/${stored.messageId}/file`,
      );
      writeFileSync(file, new Uint8Array(await response.arrayBuffer()));
      console.log(`\u001b[33m[photo ${largest?.width}×${largest?.height} → ${file}]\u001b[0m`);
    }
    const text = m.text ?? m.caption;
    if (text !== undefined) console.log(text);
    if (m.invoice !== undefined) {
      const { title, description, total_amount: amount, currency } = m.invoice;
      console.log(
        `🧾 ${title}: ${description} — ${amount} ${currency === "XTR" ? "⭐" : currency} (pay:stars)`,
      );
    }
    for (const row of m.reply_markup?.inline_keyboard ?? []) {
      console.log(
        `  ${row.map((b) => (b.url === undefined ? `[${b.text}]` : `[${b.text} → ${b.url}]`)).join(" ")}`,
      );
    }
    console.log("");
  }
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const player = new Player(options);
  await player.join();
  for (const step of options.steps) await player.step(step);
  if (!options.interactive && options.steps.length > 0) return;
  console.log(
    'One step per line: text, "press:<label>", "photo:<path>[:caption]", "pay", "pay:decline", "pay:stars"; Ctrl-D quits.',
  );
  const lines = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: `${options.user}> `,
  });
  // Input may be piped: once it ends, no prompt is shown, but the queued lines still run.
  let inputEnded = false;
  lines.once("close", () => (inputEnded = true));
  lines.prompt();
  for await (const line of lines) {
    const step = line.trim();
    if (step !== "") {
      try {
        await player.step(step);
      } catch (error) {
        console.error(`\u001b[31m${error instanceof Error ? error.message : String(error)}\u001b[0m`);
      }
    }
    if (!inputEnded) lines.prompt();
  }
}

main().catch((error: unknown) => {
  console.error(`play: ${error instanceof Error ? error.message : String(error)}`);
  console.error("Is the stack running (npm start) with the Telegram fake?");
  process.exit(1);
});
