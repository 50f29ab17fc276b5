// The product journey through a real server over gRPC with the typed client: free operations first,
// then credits, refusals that say what is missing, and a statement that adds up at every step.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorReason, insufficientFunds } from "@billing/client";
import { FundingSource, TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

describe("product journey", () => {
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "journey" });
  });
  afterAll(async () => billing?.close());

  it("new user: 4 free charges, refused, granted 25, two paid charges, refused again; add_text always free", async () => {
    const bot = billing.client("admin").wallet;
    const admin = billing.client("admin").wallet;
    const user = "telegram:1001";
    const balance = async () => {
      const b = await bot.getBalance({ userRef: user });
      return [b.creditsAvailable, b.creditsReserved, b.freeOperationsAvailable, b.freeOperationsReserved];
    };

    const opened = await bot.openAccount({ userRef: user });
    expect(opened.created).toBe(true);
    expect(await balance()).toEqual([0n, 0n, 4n, 0n]);
    // Opening again grants nothing more.
    expect((await bot.openAccount({ userRef: user })).created).toBe(false);
    expect(await balance()).toEqual([0n, 0n, 4n, 0n]);

    for (let i = 1; i <= 4; i++) {
      const charged = await bot.charge({ userRef: user, operation: "generate", idempotencyKey: `free-${i}` });
      expect(charged.fundedBy).toBe(FundingSource.FREE_OPERATION);
      expect(charged.amountFreeOperations).toBe(1n);
      expect(charged.amountCredits).toBe(0n);
      expect(charged.priceCredits).toBe(10n);
      expect(charged.balanceAfter?.freeOperationsAvailable).toBe(BigInt(4 - i));
    }

    const refused = await bot
      .charge({ userRef: user, operation: "edit", idempotencyKey: "free-5" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(refused).code).toBe(Code.FailedPrecondition);
    expect(errorReason(refused)).toBe("INSUFFICIENT_FUNDS");
    expect(insufficientFunds(refused)).toMatchObject({
      operation: "edit",
      priceCredits: 10n,
      creditsAvailable: 0n,
      freeOperationsAvailable: 0n,
    });
    expect(await balance()).toEqual([0n, 0n, 0n, 0n]);

    // add_text costs nothing and touches neither asset.
    const free = await bot.charge({ userRef: user, operation: "add_text", idempotencyKey: "text-1" });
    expect(free.fundedBy).toBe(FundingSource.NONE);
    expect(free.transferId).toBe("");

    const granted = await admin.grant({
      userRef: user,
      amountCredits: 25n,
      reason: "support #1",
      idempotencyKey: "grant-1",
    });
    expect(granted.balanceAfter?.creditsAvailable).toBe(25n);

    const paid1 = await bot.charge({ userRef: user, operation: "merge", idempotencyKey: "paid-1" });
    expect(paid1.fundedBy).toBe(FundingSource.CREDITS);
    expect(paid1.amountCredits).toBe(10n);
    expect(paid1.balanceAfter?.creditsAvailable).toBe(15n);
    const paid2 = await bot.charge({ userRef: user, operation: "upscale", idempotencyKey: "paid-2" });
    expect(paid2.balanceAfter?.creditsAvailable).toBe(5n);
    const refusedAgain = await bot
      .charge({ userRef: user, operation: "retouch", idempotencyKey: "paid-3" })
      .catch((e: unknown) => e);
    expect(errorReason(refusedAgain)).toBe("INSUFFICIENT_FUNDS");
    expect(insufficientFunds(refusedAgain)).toMatchObject({
      priceCredits: 10n,
      creditsAvailable: 5n,
      freeOperationsAvailable: 0n,
    });
    expect(
      (await bot.charge({ userRef: user, operation: "add_text", idempotencyKey: "text-2" })).fundedBy,
    ).toBe(FundingSource.NONE);
    expect(await balance()).toEqual([5n, 0n, 0n, 0n]);

    // The statement, newest first, with the balance after each entry.
    const statement = await bot.listTransactions({ userRef: user, pageSize: 100 });
    expect(
      statement.transactions.map((t) => [TransactionKind[t.kind], t.amount, t.balanceAfter, t.operation]),
    ).toEqual([
      ["CHARGE", -10n, 5n, "upscale"],
      ["CHARGE", -10n, 15n, "merge"],
      ["GRANT", 25n, 25n, ""],
      ["CHARGE", -1n, 0n, "generate"],
      ["CHARGE", -1n, 1n, "generate"],
      ["CHARGE", -1n, 2n, "generate"],
      ["CHARGE", -1n, 3n, "generate"],
      ["STARTER_GRANT", 4n, 4n, ""],
    ]);
    expect(statement.transactions[2]?.reference).toBe("support #1");
    expect(statement.nextPageToken).toBe("");

    // Paging walks the same entries.
    const first = await bot.listTransactions({ userRef: user, pageSize: 3 });
    const second = await bot.listTransactions({ userRef: user, pageSize: 3, pageToken: first.nextPageToken });
    const third = await bot.listTransactions({ userRef: user, pageSize: 3, pageToken: second.nextPageToken });
    expect(
      [...first.transactions, ...second.transactions, ...third.transactions].map((t) => t.transferId),
    ).toEqual(statement.transactions.map((t) => t.transferId));
    expect(third.nextPageToken).toBe("");

    expect(await admin.verifyLedger({})).toMatchObject({ ok: true, violations: [] });
  });

  it("replays a charge under the same key and refuses the key for another request", async () => {
    const bot = billing.client("admin").wallet;
    const user = "telegram:1002";
    await bot.openAccount({ userRef: user });
    const first = await bot.charge({ userRef: user, operation: "generate", idempotencyKey: "replay-1" });
    const again = await bot.charge({ userRef: user, operation: "generate", idempotencyKey: "replay-1" });
    expect(again).toEqual(first);
    expect((await bot.getBalance({ userRef: user })).freeOperationsAvailable).toBe(3n);
    const reused = await bot
      .charge({ userRef: user, operation: "edit", idempotencyKey: "replay-1" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(reused).code).toBe(Code.AlreadyExists);
    expect(errorReason(reused)).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await bot.getBalance({ userRef: user })).freeOperationsAvailable).toBe(3n);
  });

  it("refunds a charge to the source that paid it, once", async () => {
    const bot = billing.client("admin").wallet;
    const admin = billing.client("admin").wallet;
    const user = "telegram:1003";
    await bot.openAccount({ userRef: user });
    await admin.grant({
      userRef: user,
      amountCredits: 10n,
      freeOperations: 0n,
      reason: "promo",
      idempotencyKey: "g-1003",
    });
    const viaFree = await bot.charge({ userRef: user, operation: "generate", idempotencyKey: "r-1" });
    expect(viaFree.fundedBy).toBe(FundingSource.FREE_OPERATION);
    const refunded = await bot.refund({
      target: { case: "transferId", value: viaFree.transferId },
      reason: "generation failed",
      idempotencyKey: "refund-1",
    });
    expect(refunded.returnedAs).toBe(FundingSource.FREE_OPERATION);
    expect(refunded.balanceAfter).toMatchObject({ freeOperationsAvailable: 4n, creditsAvailable: 10n });
    // The same refund again (same key) answers the same; another key is refused.
    expect(
      await bot.refund({
        target: { case: "transferId", value: viaFree.transferId },
        reason: "generation failed",
        idempotencyKey: "refund-1",
      }),
    ).toEqual(refunded);
    const twice = await bot
      .refund({
        target: { case: "transferId", value: viaFree.transferId },
        reason: "again",
        idempotencyKey: "refund-2",
      })
      .catch((e: unknown) => e);
    expect(errorReason(twice)).toBe("ALREADY_REFUNDED");

    // Spend the free operations, then a paid one, and refund that in credits.
    for (let i = 0; i < 4; i++)
      await bot.charge({ userRef: user, operation: "edit", idempotencyKey: `spend-${i}` });
    const paid = await bot.charge({ userRef: user, operation: "edit", idempotencyKey: "spend-paid" });
    expect(paid.fundedBy).toBe(FundingSource.CREDITS);
    expect(paid.balanceAfter?.creditsAvailable).toBe(0n);
    const back = await bot.refund({
      target: { case: "transferId", value: paid.transferId },
      reason: "failed",
      idempotencyKey: "refund-3",
    });
    expect(back).toMatchObject({
      returnedAs: FundingSource.CREDITS,
      amountCredits: 10n,
      balanceAfter: { creditsAvailable: 10n },
    });

    const unknown = await bot
      .refund({
        target: { case: "transferId", value: "00000000-0000-4000-8000-000000000000" },
        reason: "x",
        idempotencyKey: "refund-4",
      })
      .catch((e: unknown) => e);
    expect(errorReason(unknown)).toBe("TRANSFER_NOT_FOUND");
    // A grant is not a charge.
    const statement = await bot.listTransactions({ userRef: user, pageSize: 100 });
    const grant = statement.transactions.find((t) => t.kind === TransactionKind.GRANT);
    const notRefundable = await bot
      .refund({
        target: { case: "transferId", value: grant?.transferId ?? "" },
        reason: "x",
        idempotencyKey: "refund-5",
      })
      .catch((e: unknown) => e);
    expect(errorReason(notRefundable)).toBe("NOT_REFUNDABLE");
    expect(await admin.verifyLedger({})).toMatchObject({ ok: true });
  });
});
