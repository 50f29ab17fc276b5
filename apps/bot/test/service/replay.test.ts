// The bot's replay check against a real billing (issue 11, failure 7). A Reserve replayed long after
// its job ended answers the stored original, whose hold is PENDING; the bot must look at the hold as
// it is now and not publish the job again — JetStream's dedupe window (10 min) may be long gone.
import { createBillingClient } from "@billing/client";
import { botEnvSchema, parseEnv } from "@billing/config";
import { createLogger, createMetricsRegistry } from "@billing/observability";
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import type { GenerationRequested } from "@billing/proto/events/v1/jobs_pb";
import { type BillingProcess, NATS_URL, startBillingProcess } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cached } from "../../src/cached.js";
import type { BotContext, UserScope } from "../../src/context.js";
import { REPLAY_AGE_MS, submitGeneration } from "../../src/flows/generation.js";
import { catalogue } from "../../src/i18n/index.js";
import { BotMemory } from "../../src/memory.js";
import { createBotMetrics } from "../../src/metrics.js";
import { OutOfBand } from "../../src/telegram/out-of-band.js";
import { SendQueue } from "../../src/telegram/send-queue.js";
import type { TelegramApi } from "../../src/telegram/types.js";

let billing: BillingProcess;
beforeAll(async () => {
  billing = await startBillingProcess({ label: "bot_replay" });
});
afterAll(async () => {
  await billing?.close();
});

/** The bot's context over real billing; Telegram and NATS are recorders (what is published is the question). */
function botContext(published: GenerationRequested[]): BotContext {
  const config = parseEnv(botEnvSchema, {
    TELEGRAM_BOT_TOKEN: "7000002:replay-test-token",
    BILLING_URL: billing.url,
    BILLING_TOKEN: billing.tokens.bot,
    NATS_URL,
    NATS_NAMESPACE: "unused",
  });
  const log = createLogger({ app: "bot-test", level: "silent" });
  const api: TelegramApi = {
    send: () => Promise.resolve({ messageId: 1 }),
    answerCallback: () => Promise.resolve(),
    answerPreCheckout: () => Promise.resolve(),
    chatAction: () => Promise.resolve(),
    setCommands: () => Promise.resolve(),
    getFile: () => Promise.reject(new Error("no files here")),
    download: () => Promise.reject(new Error("no files here")),
  };
  const client = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
  const metrics = createBotMetrics(createMetricsRegistry("bot"), { sendQueueDepth: () => 0 });
  return {
    config,
    log,
    redact: (text) => text,
    api,
    sendQueue: new SendQueue({ api, ...config.send, log }),
    signals: new OutOfBand({ api, concurrency: 1, backlogMax: 10, onResult: () => undefined, log }),
    billing: client,
    jobs: {
      putInput: () => Promise.reject(new Error("no inputs here")),
      deadLetter: () => Promise.reject(new Error("no dead letters here")),
      publish: (request) => {
        published.push(request);
        return Promise.resolve();
      },
      readResult: () => Promise.resolve(undefined),
    },
    // A restarted or long-running bot: nothing remembered about the job.
    memory: new BotMemory({ maxUsers: 100, stateTtlMs: 60_000 }),
    metrics,
    prices: new Cached(() => client.wallet.getPriceList({}), 60_000),
    topUpOptions: new Cached(() => client.payments.listTopUpOptions({}), 60_000),
    botId: 7000002,
  };
}

const scope: UserScope = { userId: 4242, chatId: 4242, locale: "ru", t: catalogue("ru"), name: "Ира" };
const request = (idempotencyKey: string) => ({
  operation: "generate" as const,
  inputs: { kind: "stored" as const, refs: [] },
  text: "маяк в тумане",
  idempotencyKey,
});

describe("a Reserve replayed after its job ended", () => {
  it("is not published again: the hold is read back (POSTED), nothing more is charged", async () => {
    const published: GenerationRequested[] = [];
    const worker = createBillingClient({ baseUrl: billing.url, token: billing.tokens.worker });
    expect(await submitGeneration(botContext(published), scope, request("tg:7000002:u:1"))).toBe("started");
    expect(published).toHaveLength(1);
    const holdId = published[0]?.holdId ?? "";
    await worker.wallet.commit({ holdId });

    // The update comes back later (redelivered to a bot that remembers nothing of it).
    await new Promise((resolve) => setTimeout(resolve, REPLAY_AGE_MS + 500));
    expect(await submitGeneration(botContext(published), scope, request("tg:7000002:u:1"))).toBe("duplicate");
    expect(published).toHaveLength(1);
    const hold = (await worker.wallet.getHold({ holdId })).hold;
    expect(hold?.state).toBe(HoldState.POSTED);
    const balance = await worker.wallet.getBalance({ userRef: "telegram:4242" });
    expect(balance).toMatchObject({ freeOperationsAvailable: 3n, freeOperationsReserved: 0n });

    // A new request (another key) still goes through: the check only stops what already ran.
    expect(await submitGeneration(botContext(published), scope, request("tg:7000002:u:2"))).toBe("started");
    expect(published).toHaveLength(2);
    worker.close();
  });
});
