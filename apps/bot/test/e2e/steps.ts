// Steps the bot's end-to-end tests share: set-up through billing's admin API, a generation and a
// top-up the way a user does them (in either language), and waiting on BILLING_EVENTS.
import { fromBinary } from "@bufbuild/protobuf";
import { jetstreamManager } from "@billing/events";
import { type BillingEvent, BillingEventSchema } from "@billing/proto/events/v1/billing_pb";
import { type TgMessage, waitFor } from "@billing/testkit";
import { type Stack, TestUser } from "./stack.js";

export const isPhoto = (m: TgMessage) => m.photo !== undefined;
export const buttons = (m: TgMessage) => (m.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.text);

/** Uses up the starter free operations (set-up: the paid path is what is under test). */
export async function useUpFreeOperations(stack: Stack, userRef: string): Promise<void> {
  for (let i = 0; i < 4; i++)
    await stack.admin.wallet.charge({
      userRef,
      operation: "generate",
      idempotencyKey: `${userRef}:free:${i}`,
    });
}

/** 🎨 from the newest message that has it, then the prompt; returns the result (photo) message. */
export async function generate(user: TestUser, prompt: string): Promise<TgMessage> {
  const before = user.mark();
  user.press("🎨");
  await user.reply(before, /Describe the picture|Опишите картинку/);
  const sent = user.send(prompt).message_id;
  return user.reply(sent, isPhoto);
}

/** What the bot says along a top-up, in the user's language (the stack's users speak en or ru). */
const TOP_UP_REPLIES = {
  en: { balance: /Balance:/, invoice: /A payment of 100 ₽/, paid: /Payment received/ },
  ru: { balance: /Баланс:/, invoice: /Счёт на 100 ₽/, paid: /Оплата получена/ },
};

/**
 * A 100 ₽ top-up the way users pay: 💰 on `on` (a message with the menu), the package, YooKassa,
 * the webhook. Returns the balance screen it started from and the bot's "payment received".
 */
export async function topUp100(
  stack: Stack,
  user: TestUser,
  on: TgMessage,
): Promise<{ balance: TgMessage; paid: TgMessage }> {
  const replies = TOP_UP_REPLIES[user.init.language_code === "en" ? "en" : "ru"];
  let at = user.mark();
  user.press("💰", { on });
  const balance = await user.reply(at, replies.balance);
  at = user.mark();
  user.press("100 ₽", { on: balance });
  const invoice = await user.reply(at, replies.invoice);
  stack.yookassa.pay((TestUser.link(invoice) ?? "").split("/checkout/")[1] ?? "");
  return { balance, paid: await user.reply(invoice.message_id, replies.paid) };
}

/** The newest billing event on `subject` in BILLING_EVENTS that `accept` takes, with its raw bytes. */
export async function streamEvent(
  stack: Stack,
  subject: string,
  accept: (event: BillingEvent) => boolean,
): Promise<{ event: BillingEvent; data: Uint8Array }> {
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
export async function botCaughtUp(stack: Stack): Promise<void> {
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
