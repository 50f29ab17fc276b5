// The bot token is a password that telegraf puts into every URL (/bot<token>/sendMessage,
// /file/bot<token>/…), so transport errors quote it. Everything the bot logs passes through here.

export type Redactor = (text: string) => string;

export function createRedactor(secrets: readonly string[]): Redactor {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    // The part after "<bot id>:" alone is the secret half of a bot token.
    const colon = secret.indexOf(":");
    if (colon > 0 && secret.length - colon > 8) forms.add(secret.slice(colon + 1));
  }
  // Longest first, so a full token is replaced before its secret half.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of ordered) out = out.split(form).join("[redacted]");
    return out;
  };
}

/** A short, loggable description of any error: name, message (redacted), and Telegram's fields. */
export function describeError(error: unknown, redact: Redactor): Record<string, unknown> {
  if (error instanceof Error) {
    const described: Record<string, unknown> = {
      type: error.name,
      message: redact(error.message).slice(0, 500),
    };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "number" || typeof code === "string") described["code"] = code;
    return described;
  }
  return { type: typeof error, message: redact(String(error)).slice(0, 500) };
}
