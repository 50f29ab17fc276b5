import { afterEach, describe, expect, it } from "vitest";
import type { FakeTelegram } from "../../src/index.js";
import { newBot, startFake } from "./helpers.js";

let fake: FakeTelegram | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("setMyCommands", () => {
  it("keeps one menu per language (and the default one) for tests to read, as getMyCommands answers", async () => {
    fake = await startFake();
    const bot = newBot(fake);
    await bot.telegram.setMyCommands([{ command: "start", description: "Меню" }], { language_code: "ru" });
    await bot.telegram.setMyCommands([{ command: "start", description: "Menu" }]);
    expect(fake.myCommands("ru")).toEqual([{ command: "start", description: "Меню" }]);
    expect(fake.myCommands()).toEqual([{ command: "start", description: "Menu" }]);
    expect(fake.myCommands("en")).toBeUndefined();
    expect(await bot.telegram.getMyCommands({ language_code: "ru" })).toEqual(fake.myCommands("ru"));
    await expect(bot.telegram.setMyCommands([{ command: "Bad-Name", description: "x" }])).rejects.toThrow(
      /BOT_COMMAND_INVALID/,
    );
  });
});
