// `npm run deadletters` against real processes: billing and the webhooks app, PostgreSQL, NATS (a
// namespace of its own) and the YooKassa fake. A notification billing refuses (a test payment on a
// billing that a bad deploy told to refuse them) is parked; once the cause is fixed, replaying it
// credits the payment — once, however often it is replayed. A job's dead letter goes back to its
// subject under a new message id.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BillingClient, createBillingClient } from "@billing/client";
import {
  connectNats,
  deleteNamespace,
  ensureStreams,
  jetstream,
  jetstreamManager,
  type NatsConnection,
  natsNames,
  publishDeadLetter,
  streamOptionsFor,
} from "@billing/events";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import {
  type AppProcess,
  type BillingProcess,
  type FakeYooKassa,
  freePort,
  NATS_URL,
  spawnApp,
  startBillingProcess,
  startFakeYooKassa,
  uniqueName,
  waitFor,
  waitForHttpOk,
} from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SHOP_ID = "100500";
const SECRET_KEY = "test_deadletters-fake-secret";
const names = natsNames(uniqueName("deadletters"));

let fake: FakeYooKassa;
let billing: BillingProcess;
let billingApp: AppProcess;
let webhooks: AppProcess;
let nc: NatsConnection;
let bot: BillingClient;

/** Runs the CLI as an operator would (its own process), against this test's stack. */
async function deadletters(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "scripts/deadletters.ts", ...args],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        NATS_URL,
        NATS_NAMESPACE: names.namespace,
        BILLING_URL: billing.url,
        DEADLETTERS_BILLING_TOKEN: billing.tokens.admin,
      },
    },
  );
  return stdout;
}

/** (Re)starts billing on its ports and database, told whether to accept YooKassa's test payments. */
async function startBilling(acceptTestPayments: boolean): Promise<void> {
  await billingApp?.stop();
  billingApp = spawnApp("billing", {
    ...billing.env,
    YOOKASSA_ALLOW_TEST_PAYMENTS: String(acceptTestPayments),
  });
  await waitForHttpOk(`${billing.metricsUrl}/readyz`, billingApp);
}

beforeAll(async () => {
  fake = await startFakeYooKassa({ shopId: SHOP_ID, secretKey: SECRET_KEY, notificationRetryDelaysMs: [] });
  billing = await startBillingProcess({
    label: "deadletters",
    env: {
      YOOKASSA_SHOP_ID: SHOP_ID,
      YOOKASSA_SECRET_KEY: SECRET_KEY,
      YOOKASSA_API_URL: fake.url,
      YOOKASSA_TIMEOUT_MS: "3000",
      YOOKASSA_UNSAFE_SHORT_TIMEOUT: "true",
      PAYMENTS_RETURN_URL: "https://t.me/billing_test_bot",
      // No sweep re-reads the payment during the test: only the replay may credit it.
      PAYMENTS_SWEEP_INTERVAL_MS: "3600000",
      PAYMENTS_SWEEP_AGE_MS: "86400000",
    },
  });
  billingApp = billing.app;
  const port = await freePort();
  webhooks = spawnApp("webhooks", {
    NATS_URL,
    NATS_NAMESPACE: names.namespace,
    BILLING_URL: billing.url,
    BILLING_TOKEN: billing.tokens.webhooks,
    WEBHOOKS_HOST: "127.0.0.1",
    WEBHOOKS_PORT: String(port),
    WEBHOOKS_ALLOWED_SENDERS: "127.0.0.1/32",
    LOG_LEVEL: "warn",
  });
  await waitForHttpOk(`http://127.0.0.1:${port}/readyz`, webhooks);
  fake.setNotificationUrl(`http://127.0.0.1:${port}/yookassa/webhook`);
  nc = await connectNats({ servers: NATS_URL, name: "deadletters-test" });
  await ensureStreams(await jetstreamManager(nc), names, streamOptionsFor(names, 1));
  bot = createBillingClient({ baseUrl: billing.url, token: billing.tokens.bot });
}, 120_000);

afterAll(async () => {
  bot?.close();
  await webhooks?.stop();
  await billingApp?.stop();
  await billing?.database.drop();
  if (nc !== undefined) {
    await deleteNamespace(nc, names).catch(() => undefined);
    await nc.close();
  }
  await fake?.close();
});

// Balances are read as an operator reads them (the bot's scope has no GetBalance).
const credits = async (userRef: string) => {
  const admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
  try {
    return (await admin.wallet.getBalance({ userRef })).creditsAvailable;
  } finally {
    admin.close();
  }
};
const sequenceOn = (listing: string, pattern: RegExp) => {
  const line = listing.split("\n").find((l) => pattern.test(l));
  return line?.split("  ")[0];
};

describe("npm run deadletters", () => {
  it("parks a refused notification; after the fix, replaying it credits the payment once", async () => {
    const userRef = "telegram:9001";
    await bot.wallet.openAccount({ userRef });
    const created = await bot.payments.createTopUp({
      userRef,
      purchase: { case: "packageCode", value: "rub_100" },
      idempotencyKey: "dl-topup-1",
    });
    const providerPaymentId = created.payment?.providerPaymentId ?? "";
    // A bad deploy: billing now refuses YooKassa's test payments. The payer pays; the notification
    // is a mismatch for billing, so the webhooks app parks it (and YooKassa gets its 200).
    await startBilling(false);
    fake.pay(providerPaymentId);
    const jsm = await jetstreamManager(nc);
    await waitFor("the notification parked", async () =>
      (await jsm.streams.info(names.streams.deadLetter)).state.messages > 0 ? true : undefined,
    );
    const listing = await deadletters("list");
    expect(listing).toMatch(/webhooks\.yookassa {2}payment_mismatch/);
    expect(listing).toContain("1 dead letter(s)");
    const seq = sequenceOn(listing, /payment_mismatch/) ?? "";
    expect(seq).toMatch(/^\d+$/);
    expect(await credits(userRef)).toBe(0n);

    const shown = await deadletters("show", seq);
    expect(shown).toContain("reason_code: payment_mismatch");
    expect(shown).toContain(`"id":"${providerPaymentId}"`);
    expect(shown).not.toContain(SECRET_KEY);

    // The fix: billing accepts test payments again. Replaying applies the payment once.
    await startBilling(true);
    expect(await deadletters("replay", seq)).toContain(`${providerPaymentId} -> APPLIED`);
    expect(await deadletters("replay", seq)).toContain(`${providerPaymentId} -> UNCHANGED`);
    expect(await credits(userRef)).toBe(100n);
    const statement = await bot.wallet.listTransactions({ userRef, pageSize: 50 });
    expect(statement.transactions.filter((e) => e.kind === TransactionKind.TOP_UP)).toHaveLength(1);

    expect(await deadletters("purge", seq)).toContain(`dead letter ${seq} purged`);
    expect(await deadletters("list")).toContain("0 dead letter(s)");
  }, 90_000);

  it("replays a job's dead letter to its original subject under a new message id, a page at a time", async () => {
    const js = jetstream(nc);
    for (const n of [1, 2, 3]) {
      await publishDeadLetter(js, names, {
        stream: names.streams.jobs,
        consumer: "worker",
        subject: "jobs.generation.requested",
        streamSequence: BigInt(n),
        deliveries: 5,
        reasonCode: "max_deliver",
        reasonMessage: "provider kept failing",
        payload: new Uint8Array([n]),
        app: "worker",
      });
    }
    const page = await deadletters("list", "--limit", "2");
    const sequences = page
      .split("\n")
      .flatMap((line) => (/^\d+ {2}/.test(line) ? [line.split("  ")[0]] : []));
    expect(sequences).toHaveLength(2);
    expect(page).toMatch(/more: npm run deadletters -- list --from \d+/);

    const jsm = await jetstreamManager(nc);
    const before = (await jsm.streams.info(names.streams.jobs)).state.last_seq;
    const out = await deadletters("replay", sequences[0] ?? "");
    expect(out).toMatch(new RegExp(`replayed to ${names.subject("jobs.generation.requested")} as replay-`));
    const after = await jsm.streams.info(names.streams.jobs);
    expect(after.state.last_seq).toBe(before + 1);
    const replayed = await jsm.streams.getMessage(names.streams.jobs, { seq: after.state.last_seq });
    expect([...(replayed?.data ?? [])]).toEqual([1]);
    expect(replayed?.header?.get("Nats-Msg-Id")).toMatch(/^replay-/);
  }, 90_000);

  it("refuses unknown commands and letters clearly", async () => {
    await expect(deadletters("show", "999999")).rejects.toThrow(/no dead letter 999999/);
    await expect(deadletters("explode")).rejects.toThrow(/usage: npm run deadletters/);
  }, 90_000);
});
