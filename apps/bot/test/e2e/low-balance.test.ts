// The low-balance nudge end to end: billing announces billing.balance.low once per crossing (through
// its outbox and NATS), and the bot tells a user who has topped up before — once, in their language,
// with the top-up button; the same event delivered again tells nothing more; a user who never paid
// hears nothing.
import { fromBinary } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager } from "@billing/events";
import { type BillingEvent, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { type TgMessage, waitFor } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, TestUser } from "./stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "bot_low_balance" });
});
afterAll(async () => {
  await stack?.close();
});

const isPhoto = (m: TgMessage) => m.photo !== undefined;
const buttons = (m: TgMessage) => (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);
const NUDGE = /running low|Баланс на исходе/;
const nudges = (user: TestUser) => user.replies().filter((m) => NUDGE.test(m.text ?? ""));

/** Uses up the starter free operations (setup: the paid path is what is under test). */
async function useUpFreeOperations(userRef: string): Promise<void> {
  for (let i = 0; i < 4; i++)
    await stack.admin.wallet.charge({
      userRef,
      operation: "generate",
      idempotencyKey: `${userRef}:free:${i}`,
    });
}

async function generate(user: TestUser, prompt: string): Promise<TgMessage> {
  const before = user.mark();
  user.press("🎨");
  await user.reply(before, /Describe the picture|Опишите картинку/);
  const sent = user.send(prompt).message_id;
  return user.reply(sent, isPhoto);
}

/** The newest billing event on `subject` in BILLING_EVENTS that `accept` takes, with its raw bytes. */
async function streamEvent(subject: string, accept: (event: BillingEvent) => boolean) {
  const jsm = await jetstreamManager(stack.nc);
  return waitFor(`${subject} in BILLING_EVENTS`, async () => {
    const stored = await jsm.streams
      .getMessage(stack.names.streams.billingEvents, { last_by_subj: stack.names.subject(subject) })
      .catch(() => null);
    if (stored === null) return undefined;
    const event = fromBinary(BillingEventSchema, stored.data);
    return accept(event) ? { event, data: stored.data } : undefined;
  });
}

/** Waits until the bot has acked everything BILLING_EVENTS holds. */
async function botCaughtUp(): Promise<void> {
  const jsm = await jetstreamManager(stack.nc);
  await waitFor(
    "the bot to ack every billing event",
    async () => {
      const stream = await jsm.streams.info(stack.names.streams.billingEvents);
      const consumer = await jsm.consumers.info(
        stack.names.streams.billingEvents,
        stack.names.durables.botBilling,
      );
      const done =
        consumer.num_pending === 0 &&
        consumer.num_ack_pending === 0 &&
        consumer.ack_floor.stream_seq >= stream.state.last_seq;
      return done ? true : undefined;
    },
    30_000,
  );
}

describe("low-balance nudge", () => {
  it("tells a user who topped up once per crossing, in their language, and not again for a redelivery", async () => {
    const user = stack.user({ id: 3001, first_name: "Ann", language_code: "en" });
    const userRef = "telegram:3001";
    let at = user.send("/start").message_id;
    const greeting = await user.reply(at, /Hi, Ann/);
    await useUpFreeOperations(userRef);

    // A top-up of 100 ₽ the way users pay: the bot's buttons, YooKassa, the webhook.
    at = user.mark();
    user.press("💰 Pay / Balance", { on: greeting });
    const balance = await user.reply(at, /Balance: 0 credits/);
    at = user.mark();
    user.press("100 ₽", { on: balance });
    const invoice = await user.reply(at, /A payment of 100 ₽/);
    stack.yookassa.pay((TestUser.link(invoice) ?? "").split("/checkout/")[1] ?? "");
    await user.reply(invoice.message_id, /Payment received/);

    await stack.admin.wallet.setLowBalanceThreshold({
      userRef,
      thresholdCredits: 95n,
      idempotencyKey: "e2e-threshold-3001",
    });
    at = user.mark();
    await generate(user, "a fox in the snow"); // 100 → 90: below 95
    const nudge = await user.reply(at, NUDGE);
    expect(nudge.text).toContain("Your balance is running low: 90 credits left");
    expect(buttons(nudge)).toContain("💰 Top up");
    await generate(user, "a second fox"); // 90 → 80: still below, nothing to say

    // The same event once more, as a redelivery after a lost ack would bring it (another message id,
    // so the stream keeps it): the bot has told the user already.
    const low = await streamEvent("billing.balance.low", (e) => e.userRef === userRef);
    await jetstream(stack.nc).publish(stack.names.subject("billing.balance.low"), low.data, {
      msgID: `redelivered-${low.event.eventId}`,
    });
    // A later event of the same user, so that everything the generations wrote has been relayed.
    await stack.admin.wallet.grant({
      userRef,
      amountCredits: 20n,
      reason: "e2e",
      idempotencyKey: "e2e-grant-3001",
    });
    await streamEvent(
      "billing.balance.changed",
      (e) =>
        e.userRef === userRef && e.payload.case === "balanceChanged" && e.payload.value.cause === "grant",
    );
    await botCaughtUp();
    expect(nudges(user)).toHaveLength(1);

    // The grant took the balance back to 100 (at or above 95): the next crossing is told again.
    at = user.mark();
    await generate(user, "a third fox"); // 100 → 90
    await user.reply(at, NUDGE);
    expect(nudges(user)).toHaveLength(2);
  });

  it("says nothing to a user who never topped up", async () => {
    const user = stack.user({ id: 3002, language_code: "ru" });
    const userRef = "telegram:3002";
    const at = user.send("/start").message_id;
    await user.reply(at, /Привет/);
    await useUpFreeOperations(userRef);
    await stack.admin.wallet.grant({
      userRef,
      amountCredits: 30n,
      reason: "e2e",
      idempotencyKey: "e2e-grant-3002",
    });
    await stack.admin.wallet.setLowBalanceThreshold({
      userRef,
      thresholdCredits: 25n,
      idempotencyKey: "e2e-threshold-3002",
    });
    await generate(user, "сова"); // 30 → 20: below 25
    const low = await streamEvent("billing.balance.low", (e) => e.userRef === userRef);
    expect(low.event.payload.case === "balanceLow" && low.event.payload.value.toppedUp).toBe(false);
    await botCaughtUp();
    expect(nudges(user)).toHaveLength(0);
  });
});
