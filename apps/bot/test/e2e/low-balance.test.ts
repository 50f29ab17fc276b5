// The low-balance nudge end to end: billing announces billing.balance.low once per crossing (through
// its outbox and NATS), and the bot tells a user who has topped up before — once, in their language,
// with the top-up button; the same event delivered again tells nothing more; a user who never paid
// hears nothing.
import { jetstream } from "@billing/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, type TestUser } from "./stack.js";
import { botCaughtUp, buttons, generate, streamEvent, topUp100, useUpFreeOperations } from "./steps.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "bot_low_balance" });
});
afterAll(async () => {
  await stack?.close();
});

const NUDGE = /running low|Баланс на исходе/;
const nudges = (user: TestUser) => user.replies().filter((m) => NUDGE.test(m.text ?? ""));

describe("low-balance nudge", () => {
  it("tells a user who topped up once per crossing, in their language, and not again for a redelivery", async () => {
    const user = stack.user({ id: 3001, first_name: "Ann", language_code: "en" });
    const userRef = "telegram:3001";
    let at = user.send("/start").message_id;
    const greeting = await user.reply(at, /Hi, Ann/);
    await useUpFreeOperations(stack, userRef);

    // A top-up of 100 ₽ the way users pay: the bot's buttons, YooKassa, the webhook.
    const { balance } = await topUp100(stack, user, greeting);
    expect(balance.text).toContain("Balance: 0 credits");

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
    const low = await streamEvent(stack, "billing.balance.low", (e) => e.userRef === userRef);
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
      stack,
      "billing.balance.changed",
      (e) =>
        e.userRef === userRef && e.payload.case === "balanceChanged" && e.payload.value.cause === "grant",
    );
    await botCaughtUp(stack);
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
    await useUpFreeOperations(stack, userRef);
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
    const low = await streamEvent(stack, "billing.balance.low", (e) => e.userRef === userRef);
    expect(low.event.payload.case === "balanceLow" && low.event.payload.value.toppedUp).toBe(false);
    await botCaughtUp(stack);
    expect(nudges(user)).toHaveLength(0);
  });
});
