// Promo credits end to end: an operator grants a promo lot that expires in a day and a few seconds;
// the bot tells the user once; a paid generation is paid from the lot (promo first, purchased
// credits untouched) and the balance screen lists the lot; billing's own sweeper announces the expiry
// once when less than a day is left and the bot passes it on once; billing's clock, moved a day
// ahead through its test clock file, expires the lot (a CREDITS_EXPIRED entry) and the bot says
// nothing more. Counted in the Telegram fake's record of the chat.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { waitFor } from "@billing/testkit";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDeadline } from "../../src/i18n/dates.js";
import { setClockOffset, type Stack, startStack, type TestUser } from "./stack.js";
import { botCaughtUp, buttons, generate, streamEvent, topUp100, useUpFreeOperations } from "./steps.js";

const HOUR_MS = 60 * 60_000;
const TIME_ZONE = "Europe/Moscow";

let stack: Stack;
let clockDir: string;
let clockFile: string;

beforeAll(async () => {
  clockDir = await mkdtemp(join(tmpdir(), "bot-promo-clock-"));
  clockFile = join(clockDir, "offset_ms");
  await setClockOffset(clockFile, 0);
  stack = await startStack({
    label: "bot_promo",
    billingClockFile: clockFile,
    botEnv: { BOT_TIME_ZONE: TIME_ZONE },
  });
});
afterAll(async () => {
  await stack?.close();
  await rm(clockDir, { recursive: true, force: true });
});

const GRANTED = /Вам начислено \d+ промо-кредит/;
const EXPIRING = /Осталось меньше суток/;
const NUDGE = /Баланс на исходе/;
const count = (user: TestUser, pattern: RegExp) =>
  user.replies().filter((m) => pattern.test(m.text ?? "")).length;

describe("promo credits", () => {
  it("are announced once, spent first, shown on the balance screen, warned of once and expired by billing", async () => {
    const user = stack.user({ id: 5001, first_name: "Вера", language_code: "ru" });
    const userRef = "telegram:5001";
    const balanceNow = () => stack.admin.wallet.getBalance({ userRef });
    let at = user.send("/start").message_id;
    const greeting = await user.reply(at, /Привет, Вера/);
    await useUpFreeOperations(stack, userRef);
    // 100 purchased credits, and a user who has paid before (the low-balance nudge is for them).
    await topUp100(stack, user, greeting);
    await stack.admin.wallet.setLowBalanceThreshold({
      userRef,
      thresholdCredits: 145n,
      idempotencyKey: "e2e-promo-threshold-5001",
    });

    // Due for the "expiring" notice 3-4 s from now: billing announces a lot with less than a day left.
    // A whole second, so that no rounding of billing's can move it into another minute.
    const expiresAt = new Date(Math.ceil((Date.now() + 24 * HOUR_MS + 3_000) / 1_000) * 1_000);
    const until = formatDeadline(expiresAt, "ru", TIME_ZONE);
    at = user.mark();
    const granted = await stack.admin.wallet.grant({
      userRef,
      amountCredits: 50n,
      expiresAt: timestampFromDate(expiresAt),
      priority: 0,
      reason: "e2e promo",
      idempotencyKey: "e2e-promo-grant-5001",
    });
    expect(granted.lotId).not.toBe("");
    const notice = await user.reply(at, GRANTED);
    expect(notice.text).toContain(`🎁 Вам начислено 50 промо-кредитов, действуют до ${until}.`);
    expect(buttons(notice)).toEqual(["🎨 Создать", "🏠 Меню"]);

    // Waited for before spending, so the amount it names is the whole lot whatever the machine's pace.
    const expiring = await user.reply(at, EXPIRING, 30_000);
    expect(expiring.text).toContain(`50 промо-кредитов сгорят ${until}.`);
    expect(await balanceNow()).toMatchObject({
      creditsAvailable: 150n,
      creditsPurchased: 100n,
      creditsPromo: 50n,
      promoLots: [{ lotId: granted.lotId, creditsAvailable: 50n, creditsGranted: 50n }],
    });

    // A paid generation (10 credits) is paid from the lot; the purchased credits stay as they were.
    at = user.mark();
    const result = await generate(user, "маяк в тумане");
    expect(result.caption).toContain("Списано 10 кредитов");
    expect(await balanceNow()).toMatchObject({
      creditsAvailable: 140n,
      creditsPurchased: 100n,
      creditsPromo: 40n,
      promoLots: [{ lotId: granted.lotId, creditsAvailable: 40n }],
    });
    const nudge = await user.reply(at, NUDGE); // 150 → 140: below 145
    expect(nudge.text).toContain("осталось 140 кредитов");

    at = user.send("/balance").message_id;
    const screen = await user.reply(at, /Баланс: 140 кредитов/);
    expect(screen.text).toContain("Купленные: 100 кредитов · промо: 40 кредитов");
    expect(screen.text).toContain(`🎟 Промо-кредиты (тратятся первыми):\n• 40 кредитов — до ${until}`);

    // A day later by billing's clock: its sweeper expires the lot's remainder.
    const beforeExpiry = user.mark();
    await setClockOffset(clockFile, 25 * HOUR_MS);
    const expiries = await waitFor("billing to book the lot's expiry", async () => {
      const { transactions } = await stack.admin.wallet.listTransactions({ userRef, pageSize: 100 });
      const booked = transactions.filter((e) => e.kind === TransactionKind.CREDITS_EXPIRED);
      return booked.length > 0 ? booked : undefined;
    });
    expect(expiries).toMatchObject([{ amount: -40n, promoLots: [{ lotId: granted.lotId, amount: 40n }] }]);
    const expired = await balanceNow();
    expect(expired).toMatchObject({
      creditsAvailable: 100n,
      creditsPurchased: 100n,
      creditsPromo: 0n,
      promoLots: [],
    });
    expect(expired.nextExpiry).toBeUndefined();

    // Everything billing said about it has reached the bot: each notice once, nothing on the expiry.
    await streamEvent(stack, "billing.credits.expired", (e) => e.userRef === userRef);
    await botCaughtUp(stack);
    expect(user.replies(beforeExpiry)).toEqual([]);
    expect(count(user, GRANTED)).toBe(1);
    expect(count(user, EXPIRING)).toBe(1);
    expect(count(user, NUDGE)).toBe(1);

    at = user.send("/balance").message_id;
    const after = await user.reply(at, /Баланс: 100 кредитов/);
    expect(after.text).not.toContain("промо:");
    expect(after.text).toContain("⌛ Сгорели промо-кредиты: −40 кредитов");
    expect(await stack.admin.wallet.verifyLedger({})).toMatchObject({ ok: true });
  });
});
