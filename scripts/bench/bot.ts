// `npm run bench:bot [-- --users 1000 --arrival-s 15 --pay-every 10]`
//
// The bot under a crowd, as Telegram delivers it (issue 16): N users arrive within 15 s, each does
// /start → "🎨 Создать" → a prompt → waits for the image; every tenth also tops up 100 ₽. The whole
// stack is real (billing, worker with the local provider, webhooks, the bot, PostgreSQL, NATS; see
// apps/bot/test/e2e/stack.ts) and the Telegram fake enforces Telegram's limits: 429 with retry_after
// past 1 message/s per chat or 30/s overall, and callback queries that expire after 15 s.
//
// Prints p50/p95/p99 per step, the target figures next to the floor Telegram's budget sets
// (messages ÷ 30/s: no bot can be faster), and audits every user. Exits 1 when the audit fails.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { auditCrowd, CrowdObserver, percentile, runCrowd, STEPS } from "../../apps/bot/test/e2e/crowd.js";
import { startStack } from "../../apps/bot/test/e2e/stack.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "1000" },
    "arrival-s": { type: "string", default: "15" },
    "pay-every": { type: "string", default: "10" },
    /** The local provider really draws each picture (CPU the bot does not spend; off by default). */
    draw: { type: "boolean", default: false },
  },
});
const USERS = Number(values.users);
const ARRIVAL_MS = Number(values["arrival-s"]) * 1000;
const PAY_EVERY = Number(values["pay-every"]);
/** Telegram's overall budget, messages per second. */
const TELEGRAM_GLOBAL_PER_S = 30;
/** Messages one journey needs: greeting, the mode's question, the image; a top-up: balance, link, receipt. */
const MESSAGES_PER_JOURNEY = 3;
const MESSAGES_PER_TOPUP = 3;

function statusMiB(pid: number | undefined, field: "VmHWM" | "VmRSS"): number {
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) / 1024;
}
const peakRssMiB = (pid: number | undefined) => statusMiB(pid, "VmHWM");
const currentRssMiB = (pid: number | undefined) => statusMiB(pid, "VmRSS");

/** The bot's warnings and errors, counted by message (its log is JSON lines). */
function printErrors(logs: string): void {
  const counts = new Map<string, number>();
  for (const line of logs.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { level?: string; msg?: string; error?: unknown };
    if (entry.level !== "warn" && entry.level !== "error") continue;
    const key = `${entry.level}: ${entry.msg ?? ""} ${JSON.stringify(entry.error ?? "").slice(0, 160)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    console.log(`  bot log ×${count}: ${key}`);
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const observer = new CrowdObserver();
  console.log(`starting the stack (Telegram fake with Telegram's limits on) …`);
  const stack = await startStack({
    label: "bench_bot",
    telegram: { floodLimits: true, onCall: observer.onCall, maxRecordedCalls: 1_000 },
    botEnv: {
      // Telegram's own pacing (the stack's tests use a fast one).
      BOT_SEND_CHAT_INTERVAL_MS: "1000",
      BOT_SEND_CHAT_BURST: "1",
      BOT_SEND_GLOBAL_PER_S: String(TELEGRAM_GLOBAL_PER_S),
      // Results wait for their delivery before the ack: enough of them in hand to fill the budget.
      BOT_CONSUMER_CONCURRENCY: "64",
      LOG_LEVEL: "warn",
      // As in a container with a 256 MiB limit: V8 collects before the heap grows past this.
      NODE_OPTIONS: "--max-old-space-size=128",
    },
    // The worker does everything but the drawing (Reserve/Commit, NATS, the object store): the
    // benchmark is about the bot, and a drawing provider on a shared machine only adds its own time.
    workerEnv: { WORKER_CONCURRENCY: "16", WORKER_LOCAL_ZERO_WORK: values.draw ? "false" : "true" },
  });
  try {
    const startRss = currentRssMiB(stack.bot.child.pid);
    console.log(`${USERS} users arriving within ${ARRIVAL_MS / 1000} s; every ${PAY_EVERY}th tops up 100 ₽`);
    console.log(
      `bot RSS before the crowd: ${startRss.toFixed(0)} MiB; pictures drawn: ${String(values.draw)}`,
    );
    const progress = setInterval(() => {
      console.log(
        `  … ${observer.journeysDone} journeys done, ${observer.messages} messages, ${observer.tooManyRequests} 429s`,
      );
    }, 10_000);
    const run = await runCrowd(stack, observer, {
      users: USERS,
      arrivalMs: ARRIVAL_MS,
      payEvery: PAY_EVERY,
      firstUserId: 5_000_000,
      stepTimeoutMs: 180_000,
    });
    clearInterval(progress);
    const botRss = peakRssMiB(stack.bot.child.pid);
    const callSeconds = await stack.metric("bot_send_call_seconds_sum");
    const calls = await stack.metric("bot_send_call_seconds_count");
    console.log(
      `mean send round trip (request → Telegram's answer): ${((callSeconds / calls) * 1000).toFixed(0)} ms ` +
        `(each send holds a slot of the 30/s window for it + 1 s: at most ${(30 / (1 + callSeconds / calls)).toFixed(1)} messages/s)`,
    );
    const audit = await auditCrowd(stack, run);
    report(run, observer, botRss, audit);
    if (run.failures.length > 0 || audit.wrongUsers.length > 0 || !audit.ledgerOk) {
      process.exitCode = 1;
      printErrors(stack.bot.logs());
    }
  } finally {
    await stack.close();
  }
}

function report(
  run: Awaited<ReturnType<typeof runCrowd>>,
  observer: CrowdObserver,
  botRssMiB: number,
  audit: Awaited<ReturnType<typeof auditCrowd>>,
): void {
  console.log("\nstep                     n      p50 s   p95 s   p99 s");
  for (const step of STEPS) {
    const taken = run.steps[step];
    if (taken.length === 0) continue;
    const cells = [50, 95, 99].map((p) => seconds(percentile(taken, p)).padStart(7));
    console.log(`${step.padEnd(22)} ${String(taken.length).padStart(5)}  ${cells.join(" ")}`);
  }
  const reactions = observer.reactionMs;
  const needed = run.userIds.length * MESSAGES_PER_JOURNEY + run.payers.size * MESSAGES_PER_TOPUP;
  const floorMs = (needed / TELEGRAM_GLOBAL_PER_S) * 1000;
  const totalMs = run.finishedAtMs - run.startedAtMs;
  const refusedShare = observer.sendCalls === 0 ? 0 : observer.tooManyRequests / observer.sendCalls;
  const rows: [string, string, string, boolean][] = [
    ["refused answerCallbackQuery", String(observer.callbackRefused), "0", observer.callbackRefused === 0],
    [
      "first reaction p99 (p50)",
      `${seconds(percentile(reactions, 99))} s (${seconds(percentile(reactions, 50))} s)`,
      "≤ 1 s",
      percentile(reactions, 99) <= 1_000,
    ],
    [
      "429s / sends",
      `${observer.tooManyRequests} / ${observer.sendCalls} = ${(refusedShare * 100).toFixed(2)} %`,
      "≤ 1 %",
      refusedShare <= 0.01,
    ],
    [
      "total time (floor = messages ÷ 30/s)",
      `${seconds(totalMs)} s (floor ${seconds(floorMs)} s for ${needed} messages)`,
      `≤ ${seconds(floorMs + 10_000)} s`,
      totalMs <= floorMs + 10_000,
    ],
    [
      "users correct",
      `${run.userIds.length - audit.wrongUsers.length - run.failures.length} / ${run.userIds.length}`,
      "all",
      audit.wrongUsers.length === 0 && run.failures.length === 0,
    ],
    ["VerifyLedger", audit.ledgerOk ? "ok" : "FAILED", "ok", audit.ledgerOk],
    ["bot peak RSS", `${botRssMiB.toFixed(0)} MiB`, "≤ 250 MB", botRssMiB <= 250],
  ];
  console.log(
    "\ntarget                                 measured                                   target      ",
  );
  for (const [name, measured, target, met] of rows) {
    console.log(`${name.padEnd(38)} ${measured.padEnd(42)} ${target.padEnd(11)} ${met ? "met" : "MISSED"}`);
  }
  console.log(`callback queries answered in time: ${observer.callbackAnswered}`);
  for (const line of [...run.failures, ...audit.wrongUsers].slice(0, 20)) console.log(`  ✗ ${line}`);
}

await main();
