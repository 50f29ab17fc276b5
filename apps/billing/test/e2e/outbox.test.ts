// The transactional outbox end to end: committed events reach BILLING_EVENTS once each, rolled-back
// ones never; billing keeps serving while NATS is away and catches up after a crash; two billing
// instances on one database never publish an event twice; an expired hold is announced.
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { createBillingClient } from "@billing/client";
import { HoldState } from "@billing/proto/billing/v1/wallet_pb";
import { HoldExpiredSchema } from "@billing/proto/events/v1/billing_pb";
import { publishBillingEventBytes } from "@billing/events";
import {
  freePort,
  metricValue,
  spawnApp,
  startBillingProcess,
  waitFor,
  waitForHttpOk,
  withPg,
  type AppProcess,
} from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordEvent } from "../../src/outbox/outbox.js";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import { openTestNats, type TestNats } from "../support/nats.js";

let nats: TestNats;

beforeAll(async () => {
  nats = await openTestNats("billing_outbox");
});
afterAll(async () => {
  await nats.close();
});

interface OutboxRow {
  event_id: string;
  subject: string;
  payload: Buffer;
  published_at: Date | null;
}

const outboxRows = (databaseUrl: string) =>
  withPg(
    databaseUrl,
    async (pg) => (await pg.query<OutboxRow>("select * from outbox_events order by id")).rows,
  );

const unpublishedCount = async (databaseUrl: string) =>
  (await outboxRows(databaseUrl)).filter((row) => row.published_at === null).length;

/** Waits until the outbox is drained and returns what BILLING_EVENTS then holds for these event ids. */
async function drained(databaseUrl: string) {
  await waitFor(
    "outbox drained",
    async () => ((await unpublishedCount(databaseUrl)) === 0 ? true : undefined),
    30_000,
  );
  return outboxRows(databaseUrl);
}

describe("outbox relay (in-process billing)", () => {
  let billing: TestBilling;

  beforeAll(async () => {
    billing = await startTestBilling({
      label: "outbox_inproc",
      env: {
        BILLING_OUTBOX_ENABLED: "true",
        NATS_NAMESPACE: nats.names.namespace,
        BILLING_OUTBOX_POLL_INTERVAL_MS: "50",
      },
    });
  });
  afterAll(async () => {
    await billing.close();
  });

  it("publishes every committed event once under the namespace, and nothing of a rolled-back transaction", async () => {
    const bot = billing.client("admin");
    await bot.wallet.openAccount({ userRef: "telegram:501" });
    let rolledBack = "";
    await expect(
      billing.server.context().db.transaction(async (tx) => {
        rolledBack = recordEvent(
          tx,
          {
            kind: "balanceChanged",
            userRef: "telegram:501",
            cause: "never",
            creditsAvailable: 999n,
            creditsReserved: 0n,
            freeOperationsAvailable: 0n,
            freeOperationsReserved: 0n,
          },
          new Date(),
        );
        throw new Error("the effect failed");
      }),
    ).rejects.toThrow("the effect failed");
    await billing.client("admin").wallet.grant({
      userRef: "telegram:501",
      amountCredits: 10n,
      reason: "outbox test",
      idempotencyKey: "outbox-grant-1",
    });

    const rows = await drained(billing.database.url);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const stored = (await nats.billingEvents()).filter((m) => m.event.userRef === "telegram:501");
    expect(stored.map((m) => m.msgId).sort()).toEqual(rows.map((r) => r.event_id).sort());
    expect(new Set(stored.map((m) => m.event.eventId)).size).toBe(stored.length);
    expect(stored.every((m) => m.msgId === m.event.eventId)).toBe(true);
    expect(stored.map((m) => m.subject)).toContain(`${nats.names.namespace}.billing.balance.changed`);
    expect(stored.some((m) => m.event.eventId === rolledBack)).toBe(false);
    expect(rows.some((r) => r.event_id === rolledBack)).toBe(false);
  });

  it("announces an expired hold on billing.hold.expired", async () => {
    const bot = billing.client("admin");
    await bot.wallet.openAccount({ userRef: "telegram:502" });
    const reserved = await bot.wallet.reserve({
      userRef: "telegram:502",
      operation: "generate",
      idempotencyKey: "outbox-expiring-hold",
      timeout: durationFromMs(1_000),
      jobId: "job-never-finished",
    });
    const holdId = reserved.hold?.holdId ?? "";
    const expired = await waitFor(
      "billing.hold.expired",
      async () =>
        (await nats.billingEvents()).find(
          (m) => m.event.payload.case === "holdExpired" && m.event.payload.value.holdId === holdId,
        ),
      30_000,
    );
    expect(expired.subject).toBe(`${nats.names.namespace}.billing.hold.expired`);
    expect(expired.event.userRef).toBe("telegram:502");
    expect(expired.event.payload.value).toEqual(
      create(HoldExpiredSchema, {
        holdId,
        operation: "generate",
        jobId: "job-never-finished",
        amountFreeOperations: 1n,
      }),
    );
    const hold = await billing.client("worker").wallet.getHold({ holdId });
    expect(hold.hold?.state).toBe(HoldState.EXPIRED);
    const balance = await bot.wallet.getBalance({ userRef: "telegram:502" });
    expect(balance.freeOperationsAvailable).toBe(4n);
  });
});

// Real processes started from TypeScript sources: generous bounds for a loaded CI machine.
describe("outbox relay (billing as a process)", { timeout: 120_000 }, () => {
  it("keeps serving while NATS is unreachable; after a SIGKILL and a restart each event is published once", async () => {
    const closedPort = await freePort();
    const billing = await startBillingProcess({
      label: "outbox_kill",
      env: {
        NATS_URL: `nats://127.0.0.1:${closedPort}`,
        NATS_NAMESPACE: nats.names.namespace,
        BILLING_OUTBOX_ENABLED: "true",
        BILLING_OUTBOX_POLL_INTERVAL_MS: "50",
      },
    });
    let restarted: AppProcess | undefined;
    const client = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
    const admin = createBillingClient({ baseUrl: billing.url, token: billing.tokens.admin });
    try {
      // Each user: the starter grant and an operator grant, two balance.changed events.
      for (const n of [1, 2, 3]) {
        await client.wallet.openAccount({ userRef: `telegram:60${n}` });
        await admin.wallet.grant({
          userRef: `telegram:60${n}`,
          amountCredits: 10n,
          reason: "outbox test",
          idempotencyKey: `kill-${n}`,
        });
      }
      // Billing answers and says it is ready; the events wait in the outbox.
      expect((await fetch(`${billing.metricsUrl}/readyz`)).status).toBe(200);
      const rows = await outboxRows(billing.database.url);
      expect(rows).toHaveLength(6);
      expect(rows.every((row) => row.published_at === null)).toBe(true);
      expect(await metricValue(billing.metricsUrl, "billing_outbox_backlog")).toBe(6);
      expect(await metricValue(billing.metricsUrl, "billing_outbox_lag_seconds")).toBeGreaterThan(0);
      expect(await metricValue(billing.metricsUrl, "billing_outbox_publish_failures_total")).toBe(0);

      // As if a relay had published the first event and died before marking it.
      const first = rows[0];
      if (first === undefined) throw new Error("no outbox row");
      await publishBillingEventBytes(nats.js, nats.names, {
        baseSubject: first.subject,
        eventId: first.event_id,
        payload: first.payload,
      });

      expect(await billing.app.kill()).toBe("SIGKILL");
      client.close();
      admin.close();
      restarted = spawnApp("billing", {
        ...billing.env,
        NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
      });
      await waitForHttpOk(`${billing.metricsUrl}/readyz`, restarted, 60_000);

      const after = await drained(billing.database.url);
      const ids = after.map((row) => row.event_id).sort();
      const stored = (await nats.billingEvents()).filter((m) => ids.includes(m.event.eventId));
      expect(stored.map((m) => m.event.eventId).sort()).toEqual(ids);
      expect(
        await metricValue(billing.metricsUrl, "billing_outbox_published_total", { duplicate: "true" }),
      ).toBe(1);
      expect(
        await metricValue(billing.metricsUrl, "billing_outbox_published_total", { duplicate: "false" }),
      ).toBe(5);
      expect(await metricValue(billing.metricsUrl, "billing_outbox_backlog")).toBe(0);
    } finally {
      client.close();
      await restarted?.stop();
      await billing.close();
    }
  });

  it("two billing instances on one database relay side by side, publishing each event exactly once", async () => {
    const first = await startBillingProcess({
      label: "outbox_two",
      env: {
        NATS_NAMESPACE: nats.names.namespace,
        BILLING_OUTBOX_ENABLED: "true",
        BILLING_OUTBOX_POLL_INTERVAL_MS: "20",
        BILLING_OUTBOX_BATCH_SIZE: "5",
      },
    });
    const secondMetricsPort = await freePort();
    const secondPort = await freePort();
    const second = spawnApp("billing", {
      ...first.env,
      BILLING_PORT: String(secondPort),
      BILLING_METRICS_PORT: String(secondMetricsPort),
    });
    const secondMetrics = `http://127.0.0.1:${secondMetricsPort}`;
    const viaFirst = createBillingClient({ baseUrl: first.url, token: first.tokens.admin });
    const viaSecond = createBillingClient({
      baseUrl: `http://127.0.0.1:${secondPort}`,
      token: first.tokens.admin,
    });
    const clients = [viaFirst, viaSecond];
    try {
      await waitForHttpOk(`${secondMetrics}/readyz`, second, 60_000);
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 === 0 ? viaFirst : viaSecond).wallet.openAccount({
            userRef: `telegram:7${String(i).padStart(2, "0")}`,
          }),
        ),
      );
      const rows = await drained(first.database.url);
      expect(rows).toHaveLength(60);
      const ids = rows.map((row) => row.event_id).sort();
      const stored = (await nats.billingEvents()).filter((m) => ids.includes(m.event.eventId));
      expect(stored.map((m) => m.event.eventId).sort()).toEqual(ids);
      // Not merely deduped by the stream: no row was ever published twice.
      const firsts = await Promise.all(
        [first.metricsUrl, secondMetrics].map((url) =>
          metricValue(url, "billing_outbox_published_total", { duplicate: "false" }),
        ),
      );
      const duplicates = await Promise.all(
        [first.metricsUrl, secondMetrics].map((url) =>
          metricValue(url, "billing_outbox_published_total", { duplicate: "true" }),
        ),
      );
      expect(firsts.reduce((a, b) => a + b, 0)).toBe(60);
      expect(duplicates).toEqual([0, 0]);
    } finally {
      for (const client of clients) client.close();
      await second.stop();
      await first.close();
    }
  });
});
