// Bad input to the wallet: INVALID_ARGUMENT with a field violation per bad field, NOT_FOUND for an
// unknown user — never a crash, never a partial write; and the JSON log line of a refused call (of
// every call at debug), without the caller's token.
import { withPg } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import { refusalOf } from "../support/refusal.js";

/** The "rpc" records among the JSON log lines a server wrote. */
function rpcRecords(lines: readonly string[]): Record<string, unknown>[] {
  return lines
    .flatMap((line) => line.split("\n"))
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.msg === "rpc");
}

describe("input validation and call logs", () => {
  let billing: TestBilling;
  const lines: string[] = [];
  beforeAll(async () => {
    billing = await startTestBilling({
      label: "validation",
      env: { LOG_LEVEL: "info" },
      logDestination: { write: (line) => lines.push(line) },
    });
    await billing.client("admin").wallet.openAccount({ userRef: "valid:1" });
  });
  afterAll(async () => billing?.close());

  const ledgerRows = () =>
    withPg(billing.database.url, async (pg) => {
      const { rows } = await pg.query<{ n: string }>(
        `select (select count(*) from ledger_transfers) + (select count(*) from ledger_holds)
              + (select count(*) from idempotency_keys) + (select count(*) from ledger_accounts) as n`,
      );
      return rows[0]?.n;
    });

  it("names every bad field at once and writes nothing", async () => {
    const wallet = billing.client("admin").wallet;
    const admin = billing.client("admin").wallet;
    const before = await ledgerRows();

    expect(
      await refusalOf(wallet.charge({ userRef: "", operation: "Generate!", idempotencyKey: "" })),
    ).toMatchObject({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: {
        user_ref: expect.any(String),
        operation: expect.any(String),
        idempotency_key: expect.any(String),
      },
    });
    expect(await refusalOf(wallet.openAccount({ userRef: "x".repeat(129) }))).toMatchObject({
      code: "InvalidArgument",
      fields: { user_ref: expect.stringContaining("1-128") },
    });
    expect(
      await refusalOf(
        wallet.reserve({
          userRef: "valid:1",
          operation: "generate",
          idempotencyKey: "r",
          timeout: { seconds: 86_401n, nanos: 0 },
        }),
      ),
    ).toMatchObject({ code: "InvalidArgument", fields: { timeout: "must be between 1s and 24h" } });
    expect(
      await refusalOf(
        wallet.reserve({
          userRef: "valid:1",
          operation: "generate",
          idempotencyKey: "r",
          timeout: { seconds: 0n, nanos: 5 },
        }),
      ),
    ).toMatchObject({ code: "InvalidArgument", fields: { timeout: expect.any(String) } });
    expect(
      await refusalOf(
        admin.grant({
          userRef: "valid:1",
          amountCredits: -5n,
          freeOperations: 0n,
          reason: "",
          idempotencyKey: "g",
        }),
      ),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: { amount_credits: expect.any(String), reason: "is required" },
    });
    expect(
      await refusalOf(
        admin.grant({
          userRef: "valid:1",
          amountCredits: 0n,
          freeOperations: 0n,
          reason: "x",
          idempotencyKey: "g",
        }),
      ),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: { amount_credits: expect.stringContaining("at least one") },
    });
    expect(await refusalOf(wallet.listTransactions({ userRef: "valid:1", pageSize: 101 }))).toMatchObject({
      fields: { page_size: expect.any(String) },
    });
    expect(
      await refusalOf(wallet.listTransactions({ userRef: "valid:1", pageToken: "bm90LWEtdG9rZW4" })),
    ).toMatchObject({
      fields: { page_token: expect.any(String) },
    });
    expect(await refusalOf(wallet.getHold({ holdId: "123" }))).toMatchObject({
      fields: { hold_id: expect.any(String) },
    });
    expect(
      await refusalOf(wallet.refund({ target: { case: undefined }, reason: "", idempotencyKey: "k" })),
    ).toMatchObject({
      fields: { target: expect.any(String) },
    });
    expect(
      await refusalOf(wallet.charge({ userRef: "valid:1", operation: "teleport", idempotencyKey: "k" })),
    ).toMatchObject({
      code: "InvalidArgument",
      reason: "UNKNOWN_OPERATION",
    });
    expect(await refusalOf(wallet.getBalance({ userRef: "nobody:1" }))).toMatchObject({
      code: "NotFound",
      reason: "ACCOUNT_NOT_FOUND",
    });
    expect(
      await refusalOf(wallet.charge({ userRef: "nobody:1", operation: "generate", idempotencyKey: "k" })),
    ).toMatchObject({
      code: "NotFound",
      reason: "ACCOUNT_NOT_FOUND",
    });
    expect(await ledgerRows()).toBe(before);
  });

  it("logs a JSON line per refused or failed call (every call at debug) with procedure, code, duration and request id, and never the token", async () => {
    lines.length = 0;
    const wallet = billing.client("admin").wallet;
    // At info, a quick successful call is not logged (its count and latency are in the metrics).
    await wallet.getPriceList({});
    await wallet.getBalance({ userRef: "nobody:2" }).catch(() => undefined);
    const calls = rpcRecords(lines);
    expect(calls).toEqual([
      expect.objectContaining({
        procedure: "billing.v1.WalletService/GetBalance",
        code: "NotFound",
        scope: "admin",
        request_id: expect.any(String),
        duration_ms: expect.any(Number),
      }),
    ]);
    expect(lines.join("")).not.toContain(billing.tokens.admin);
  });
});

describe("call logs at debug", () => {
  it("logs every call, successful ones included", async () => {
    const lines: string[] = [];
    const billing = await startTestBilling({
      label: "call_logs_debug",
      env: { LOG_LEVEL: "debug" },
      logDestination: { write: (line) => lines.push(line) },
    });
    try {
      await billing.client("admin").wallet.getPriceList({});
      const calls = rpcRecords(lines);
      expect(calls).toEqual([
        expect.objectContaining({
          procedure: "billing.v1.WalletService/GetPriceList",
          code: "ok",
          scope: "admin",
        }),
      ]);
    } finally {
      await billing.close();
    }
  });
});
