// Choosing a mode and collecting what it needs: the bot asks for exactly that, refuses wrong input
// with the reason, and once everything is there hands over to submitGeneration.
import { type BotContext, say, type UserScope } from "../context.js";
import type { Operation } from "../operations.js";
import {
  applyInput,
  type ModeConversation,
  type Problem,
  startMode,
  type Ask,
  type UserInput,
} from "./conversation.js";
import { submitGeneration } from "./generation.js";
import { menuRow, priceMap } from "./keyboards.js";
import { showMenu } from "./start.js";

export async function chooseMode(ctx: BotContext, scope: UserScope, operation: Operation): Promise<void> {
  const { t } = scope;
  const price = priceMap(await ctx.prices.get()).get(operation);
  if (price === undefined) {
    // Billing no longer prices it (the menu was sent before a configuration change).
    await showMenu(ctx, scope);
    return;
  }
  ctx.memory.conversations.set(scope.userId, startMode(operation));
  const priceLine = price === 0n ? t.ask.priceFree : t.ask.price(t.amount.credits(price));
  say(ctx, scope.chatId, `${t.ask[operation]}\n${priceLine}\n${t.ask.resultNext}`, [menuRow(t)]);
}

export async function modeInput(
  ctx: BotContext,
  scope: UserScope,
  conversation: ModeConversation,
  input: UserInput,
  idempotencyKey: string,
): Promise<void> {
  const step = applyInput(conversation, input, ctx.config.limits);
  switch (step.kind) {
    case "invalid":
      say(ctx, scope.chatId, problemText(scope, step.problem), [menuRow(scope.t)]);
      return;
    case "continue":
      ctx.memory.conversations.set(scope.userId, step.conversation);
      say(ctx, scope.chatId, askText(scope, step.ask), [menuRow(scope.t)]);
      return;
    case "ready":
      ctx.memory.conversations.delete(scope.userId);
      await submitGeneration(ctx, scope, {
        operation: step.operation,
        inputs: { kind: "telegram", photos: step.photos },
        text: step.text,
        idempotencyKey,
      });
      return;
  }
}

function problemText(scope: UserScope, problem: Problem): string {
  const { invalid } = scope.t;
  switch (problem.kind) {
    case "expectedPhoto":
      return invalid.expectedPhoto;
    case "expectedText":
      return invalid.expectedText;
    case "notAnImage":
      return invalid.notAnImage;
    case "photoTooLarge":
      return invalid.photoTooLarge(problem.maxBytes);
    case "tooManyPhotos":
      return invalid.tooManyPhotos(problem.expected);
    case "promptEmpty":
      return invalid.promptEmpty;
    case "promptTooLong":
      return invalid.promptTooLong(problem.maxChars);
  }
}

function askText(scope: UserScope, ask: Ask): string {
  const { t } = scope;
  if (ask.kind === "nextPhoto") return t.ask.nextPhoto(ask.received, ask.total);
  // Only modes with photos ask for text after something else: edit (a prompt) and add_text (the words).
  return ask.operation === "add_text" ? t.ask.addTextOverlay : t.ask.editPrompt;
}
