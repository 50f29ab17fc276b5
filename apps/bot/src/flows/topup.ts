// Top-ups: a package button (a Stars package goes to stars.ts) or a typed amount → (an email once, when receipts are on) → CreateTopUp
// with a key derived from the update → a button with YooKassa's payment link. The credits arrive later,
// when billing has read the payment back as succeeded (billing-events.ts tells the user).
import { Code, ConnectError, errorReason } from "@billing/client";
import type { CreateTopUpRequest } from "@billing/proto/billing/v1/payments_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateTopUpRequestSchema } from "@billing/proto/billing/v1/payments_pb";
import { type BotContext, say, type UserScope, userRef } from "../context.js";
import { showBalance } from "./balance.js";
import { parseEmail, parseRubles, type Purchase } from "./conversation.js";
import { menuRow } from "./keyboards.js";
import { buyStars } from "./stars.js";

export async function chooseCustomAmount(ctx: BotContext, scope: UserScope): Promise<void> {
  const options = await ctx.topUpOptions.get();
  ctx.memory.conversations.set(scope.userId, { kind: "amount" });
  say(
    ctx,
    scope.chatId,
    scope.t.topUp.askAmount(options.customMinAmountMinor, options.customMaxAmountMinor),
    [menuRow(scope.t)],
  );
}

/** A package button. */
export async function buyPackage(
  ctx: BotContext,
  scope: UserScope,
  packageCode: string,
  idempotencyKey: string,
): Promise<void> {
  const options = await ctx.topUpOptions.get();
  if (options.starsPackages.some((p) => p.packageCode === packageCode)) {
    await buyStars(ctx, scope, packageCode, idempotencyKey);
    return;
  }
  const found = options.packages.find((p) => p.packageCode === packageCode);
  if (found === undefined) {
    // The catalogue changed since the button was sent.
    await showBalance(ctx, scope);
    return;
  }
  await purchase(
    ctx,
    scope,
    { kind: "package", packageCode, amountMinor: found.amountMinor },
    idempotencyKey,
  );
}

/** The message after "another amount": refused with the reason (and asked again) or bought. */
export async function typedAmount(
  ctx: BotContext,
  scope: UserScope,
  text: string,
  idempotencyKey: string,
): Promise<void> {
  const { t } = scope;
  const options = await ctx.topUpOptions.get();
  const parsed = parseRubles(text, {
    minMinor: options.customMinAmountMinor,
    maxMinor: options.customMaxAmountMinor,
  });
  if ("problem" in parsed) {
    const message =
      parsed.problem === "not_a_number"
        ? t.topUp.notANumber
        : parsed.problem === "too_small"
          ? t.topUp.tooSmall(options.customMinAmountMinor)
          : t.topUp.tooLarge(options.customMaxAmountMinor);
    // Still waiting for an amount: the next message is another try.
    say(ctx, scope.chatId, message, [menuRow(t)]);
    return;
  }
  ctx.memory.conversations.delete(scope.userId);
  await purchase(ctx, scope, { kind: "custom", amountMinor: parsed.amountMinor }, idempotencyKey);
}

/** The message after "an email for the receipt". */
export async function typedEmail(
  ctx: BotContext,
  scope: UserScope,
  text: string,
  pending: Purchase,
  idempotencyKey: string,
): Promise<void> {
  const email = parseEmail(text);
  if (email === undefined) {
    say(ctx, scope.chatId, scope.t.topUp.emailInvalid, [menuRow(scope.t)]);
    return;
  }
  ctx.memory.emails.set(scope.userId, email);
  ctx.memory.conversations.delete(scope.userId);
  await createTopUp(ctx, scope, pending, email, idempotencyKey);
}

async function purchase(
  ctx: BotContext,
  scope: UserScope,
  wanted: Purchase,
  idempotencyKey: string,
): Promise<void> {
  const options = await ctx.topUpOptions.get();
  const email = ctx.memory.emails.get(scope.userId);
  if (options.receiptRequired && email === undefined) {
    ctx.memory.conversations.set(scope.userId, { kind: "email", purchase: wanted });
    say(ctx, scope.chatId, scope.t.topUp.askEmail, [menuRow(scope.t)]);
    return;
  }
  await createTopUp(ctx, scope, wanted, options.receiptRequired ? email : undefined, idempotencyKey);
}

async function createTopUp(
  ctx: BotContext,
  scope: UserScope,
  wanted: Purchase,
  email: string | undefined,
  idempotencyKey: string,
): Promise<void> {
  const { t } = scope;
  const request: MessageInitShape<typeof CreateTopUpRequestSchema> = {
    userRef: userRef(scope.userId),
    purchase:
      wanted.kind === "package"
        ? { case: "packageCode", value: wanted.packageCode }
        : { case: "amountMinor", value: wanted.amountMinor },
    idempotencyKey,
    ...(ctx.config.paymentReturnUrl === undefined ? {} : { returnUrl: ctx.config.paymentReturnUrl }),
    ...(email === undefined ? {} : { customerEmail: email }),
  };
  let created;
  try {
    created = await callCreateTopUp(ctx, request);
  } catch (error) {
    const reason = errorReason(error);
    const code = error instanceof ConnectError ? error.code : undefined;
    ctx.log.warn(
      { user_id: scope.userId, reason, code: code === undefined ? undefined : Code[code] },
      "CreateTopUp failed",
    );
    const message =
      reason === "PROVIDER_UNAVAILABLE" || code === Code.Unavailable || code === Code.DeadlineExceeded
        ? t.topUp.unavailable
        : t.topUp.rejected;
    say(ctx, scope.chatId, message, [menuRow(t)]);
    return;
  }
  ctx.metrics.topUpsCreated.inc();
  const payment = created.payment;
  const amountMinor = payment?.amountMinor ?? wanted.amountMinor;
  const url = created.confirmationUrl !== "" ? created.confirmationUrl : (payment?.confirmationUrl ?? "");
  if (url === "") {
    ctx.log.error(
      { user_id: scope.userId, payment_id: payment?.paymentId },
      "CreateTopUp answered without a confirmation URL",
    );
    say(ctx, scope.chatId, t.topUp.rejected, [menuRow(t)]);
    return;
  }
  say(ctx, scope.chatId, t.topUp.link(amountMinor, payment?.credits ?? 0n), [
    [{ text: t.button.pay(amountMinor), url }],
    menuRow(t),
  ]);
}

/** CreateTopUp; a user who never opened an account (no /start) gets one first. */
async function callCreateTopUp(ctx: BotContext, request: MessageInitShape<typeof CreateTopUpRequestSchema>) {
  try {
    return await ctx.billing.payments.createTopUp(request);
  } catch (error) {
    if (errorReason(error) !== "ACCOUNT_NOT_FOUND" || request.userRef === undefined) throw error;
    await ctx.billing.wallet.openAccount({ userRef: request.userRef });
    return await ctx.billing.payments.createTopUp(request);
  }
}

export type { CreateTopUpRequest };
