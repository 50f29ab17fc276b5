import { describe, expect, it } from "vitest";
import { botEnvSchema, ConfigError, parseEnv } from "../src/index.js";

const TOKEN = "123456:ABC-def_0123456789";
const valid = {
  TELEGRAM_BOT_TOKEN: TOKEN,
  BILLING_URL: "http://127.0.0.1:50051",
  BILLING_TOKEN: "dev-bot-token-change-me",
};

function problems(env: Record<string, string>): string {
  try {
    parseEnv(botEnvSchema, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
}

describe("bot configuration", () => {
  it("parses the minimum with the product's defaults", () => {
    const config = parseEnv(botEnvSchema, valid);
    expect(config.telegram).toEqual({ token: TOKEN, apiRoot: "https://api.telegram.org" });
    expect(config.mode).toBe("polling");
    expect(config.webhook).toBeUndefined();
    expect(config.opsPort).toBe(9466);
    expect(config.defaultLocale).toBe("ru");
    expect(config.natsNamespace).toBe("");
    expect(config.limits.maxPhotoBytes).toBe(10 * 1024 * 1024);
    expect(config.send).toMatchObject({ chatIntervalMs: 1_000, globalPerSecond: 30, maxAttempts: 5 });
  });

  it("webhook mode needs a domain and a secret, and keeps them together", () => {
    const message = problems({ ...valid, BOT_MODE: "webhook" });
    expect(message).toContain("BOT_WEBHOOK_DOMAIN: is required when BOT_MODE=webhook");
    expect(message).toContain("BOT_WEBHOOK_SECRET: is required when BOT_MODE=webhook");
    const config = parseEnv(botEnvSchema, {
      ...valid,
      BOT_MODE: "webhook",
      BOT_WEBHOOK_DOMAIN: "bot.example.com",
      BOT_WEBHOOK_SECRET: "s3cret_s3cret-s3cret",
      BOT_WEBHOOK_PORT: "8088",
    });
    expect(config.webhook).toEqual({
      domain: "bot.example.com",
      path: "/telegram/webhook",
      secret: "s3cret_s3cret-s3cret",
      host: "0.0.0.0",
      port: 8088,
      maxBodyBytes: 1024 * 1024,
    });
  });

  it("names every bad variable and never echoes the token or the secret", () => {
    const message = problems({
      TELEGRAM_BOT_TOKEN: "not a token with s3cr3t",
      BOT_MODE: "carrier-pigeon",
      BOT_WEBHOOK_SECRET: "short s3cr3t!",
      BOT_WEBHOOK_DOMAIN: "https://bot.example.com/",
      BILLING_URL: "ftp://billing",
      BOT_MAX_PHOTO_BYTES: String(25 * 1024 * 1024),
      BOT_DEFAULT_LOCALE: "de",
    });
    for (const variable of [
      "TELEGRAM_BOT_TOKEN",
      "BOT_MODE",
      "BOT_WEBHOOK_SECRET",
      "BOT_WEBHOOK_DOMAIN",
      "BILLING_URL",
      "BILLING_TOKEN",
      "BOT_MAX_PHOTO_BYTES",
      "BOT_DEFAULT_LOCALE",
    ]) {
      expect(message).toContain(variable);
    }
    expect(message).not.toContain("s3cr3t");
  });

  it("requires the token", () => {
    expect(problems({ BILLING_URL: valid.BILLING_URL, BILLING_TOKEN: valid.BILLING_TOKEN })).toMatch(
      /TELEGRAM_BOT_TOKEN: is required/,
    );
  });

  it("bounds prompts by what the worker accepts", () => {
    expect(problems({ ...valid, BOT_PROMPT_MAX_CHARS: "5000" })).toContain("BOT_PROMPT_MAX_CHARS");
    expect(problems({ ...valid, BOT_OVERLAY_TEXT_MAX_CHARS: "201" })).toContain("BOT_OVERLAY_TEXT_MAX_CHARS");
  });
});
