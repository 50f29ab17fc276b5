// ListTransactions with filters through a real server: every combination of time range, kinds,
// operation and reference lists exactly the entries of the full statement that match (the full
// statement is the reference model), page by page; page tokens are bound to the user and filters;
// and pages stay stable while charges keep arriving (no entry repeated, none skipped).
import { type BillingClient } from "@billing/client";
import { type Transaction, TransactionKind } from "@billing/proto/billing/v1/wallet_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";
import { databaseMicros, microsOf, timestampOf } from "../support/instants.js";
import { refusalOf } from "../support/refusal.js";

interface Filter {
  startTime?: bigint;
  endTime?: bigint;
  kinds?: TransactionKind[];
  operation?: string;
  reference?: string;
}

function matches(entry: Transaction, filter: Filter): boolean {
  const booked = microsOf(entry.bookedAt);
  return (
    (filter.startTime === undefined || booked >= filter.startTime) &&
    (filter.endTime === undefined || booked < filter.endTime) &&
    (filter.kinds === undefined || filter.kinds.length === 0 || filter.kinds.includes(entry.kind)) &&
    (filter.operation === undefined || filter.operation === "" || entry.operation === filter.operation) &&
    (filter.reference === undefined || filter.reference === "" || entry.reference === filter.reference)
  );
}

describe("ListTransactions filters", () => {
  let billing: TestBilling;
  let wallet: BillingClient["wallet"];
  beforeAll(async () => {
    billing = await startTestBilling({ label: "statement_filters" });
    wallet = billing.client("admin").wallet;
  });
  afterAll(async () => billing?.close());

  const now = () => databaseMicros(billing.server.context().ledger.db.reader());
  const request = (userRef: string, filter: Filter, pageSize: number, pageToken = "") => ({
    userRef,
    pageSize,
    pageToken,
    kinds: filter.kinds ?? [],
    operation: filter.operation ?? "",
    reference: filter.reference ?? "",
    ...(filter.startTime === undefined ? {} : { startTime: timestampOf(filter.startTime) }),
    ...(filter.endTime === undefined ? {} : { endTime: timestampOf(filter.endTime) }),
  });
  /** Every page of a filtered statement, newest first; `between` runs after each page is read. */
  const pages = async (
    userRef: string,
    filter: Filter,
    pageSize: number,
    between?: () => Promise<unknown>,
  ) => {
    const entries: Transaction[] = [];
    let pageToken = "";
    for (let page = 0; page < 500; page++) {
      const [answer] = await Promise.all([
        wallet.listTransactions(request(userRef, filter, pageSize, pageToken)),
        between?.(),
      ]);
      expect(answer.transactions.length).toBeLessThanOrEqual(pageSize);
      entries.push(...answer.transactions);
      if (answer.nextPageToken === "") return entries;
      pageToken = answer.nextPageToken;
    }
    throw new Error("more pages than the test expects");
  };
  const ids = (entries: readonly Transaction[]) => entries.map((e) => e.transferId);

  it("lists exactly the matching entries for each combination of filters, page by page", async () => {
    const userRef = "stmt:mix";
    const instants: bigint[] = [];
    const mark = async () => instants.push(await now());
    await mark();
    await wallet.openAccount({ userRef });
    await wallet.grant({ userRef, amountCredits: 200n, reason: "welcome", idempotencyKey: "m-grant" });
    await mark();
    const charges = [];
    for (let i = 1; i <= 6; i++) {
      const operation = i % 2 === 0 ? "edit" : "generate";
      charges.push(
        await wallet.charge({ userRef, operation, idempotencyKey: `m-c${i}`, reference: `job-${i}` }),
      );
      if (i === 3) await mark();
    }
    await mark();
    const partly = await wallet.reserve({ userRef, operation: "edit", idempotencyKey: "m-r1", jobId: "j1" });
    await wallet.commit({ holdId: partly.hold?.holdId ?? "", amountCredits: 3n });
    const voided = await wallet.reserve({ userRef, operation: "generate", idempotencyKey: "m-r2" });
    await wallet.release({ holdId: voided.hold?.holdId ?? "", reason: "provider failed" });
    await mark();
    await wallet.refund({
      target: { case: "transferId", value: charges[4]?.transferId ?? "" },
      reason: "sorry",
      idempotencyKey: "m-refund",
    });
    await wallet.grant({ userRef, amountCredits: 5n, reason: "welcome", idempotencyKey: "m-grant-2" });
    await mark();

    const all = await pages(userRef, {}, 3);
    expect(all.length).toBe(14); // starter, grant, 6 charges, 2 holds and their resolutions, refund, grant
    const [t0, t1, t2, t3, t4, t5] = instants as [bigint, bigint, bigint, bigint, bigint, bigint];
    const filters: Filter[] = [
      { kinds: [TransactionKind.CHARGE] },
      { kinds: [TransactionKind.HOLD, TransactionKind.HOLD_POSTED, TransactionKind.HOLD_VOIDED] },
      { kinds: [TransactionKind.HOLD, TransactionKind.HOLD_POSTED], operation: "edit" },
      { operation: "generate" },
      { operation: "generate", startTime: t1, endTime: t3 },
      { startTime: t2 },
      { endTime: t2 },
      { startTime: t2, endTime: t4 },
      { reference: "job-5" },
      { reference: "welcome" },
      { reference: "welcome", startTime: t4 },
      {
        kinds: [TransactionKind.CHARGE, TransactionKind.REFUND],
        operation: "generate",
        startTime: t2,
        endTime: t5,
      },
      { kinds: [TransactionKind.TOP_UP] },
      { startTime: t3, endTime: t3 },
      { startTime: t5 },
      { endTime: t0 },
      { operation: "face_swap" },
    ];
    for (const filter of filters) {
      const expected = all.filter((entry) => matches(entry, filter));
      expect(
        ids(await pages(userRef, filter, 2)),
        JSON.stringify(filter, (_k, v: unknown) => String(v)),
      ).toEqual(ids(expected));
    }
    // The filters do narrow: each of these finds something and leaves something out.
    for (const filter of [filters[0], filters[4], filters[8], filters[11]] as Filter[]) {
      const found = all.filter((entry) => matches(entry, filter)).length;
      expect(found).toBeGreaterThan(0);
      expect(found).toBeLessThan(all.length);
    }
    // A kind named twice, or the kinds in another order, is the same filter (and the same token).
    const first = await wallet.listTransactions(
      request(userRef, { kinds: [TransactionKind.CHARGE, TransactionKind.REFUND] }, 2),
    );
    const next = await wallet.listTransactions(
      request(
        userRef,
        { kinds: [TransactionKind.REFUND, TransactionKind.CHARGE, TransactionKind.CHARGE] },
        2,
        first.nextPageToken,
      ),
    );
    expect(ids([...first.transactions, ...next.transactions])).toEqual(
      ids(all.filter((e) => [TransactionKind.CHARGE, TransactionKind.REFUND].includes(e.kind)).slice(0, 4)),
    );
  });

  it("refuses bad filters and a page token of other filters or another user, naming the field", async () => {
    const userRef = "stmt:bad";
    await wallet.openAccount({ userRef });
    await wallet.openAccount({ userRef: "stmt:other" });
    for (let i = 0; i < 3; i++)
      await wallet.charge({ userRef, operation: "generate", idempotencyKey: `bad-${i}`, reference: "r" });
    const at = await now();
    expect(
      await refusalOf(
        wallet.listTransactions({
          userRef,
          startTime: timestampOf(at),
          endTime: timestampOf(at - 1n),
          kinds: [TransactionKind.CHARGE, 99 as TransactionKind, TransactionKind.UNSPECIFIED],
          operation: "Face Swap",
          reference: "x".repeat(257),
        }),
      ),
    ).toEqual({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: {
        start_time: "must not be after end_time",
        "kinds[1]": expect.any(String),
        "kinds[2]": expect.any(String),
        operation: expect.any(String),
        reference: "must be at most 256 characters",
      },
    });
    expect(
      await refusalOf(
        wallet.listTransactions({ userRef, kinds: Array.from({ length: 17 }, () => TransactionKind.CHARGE) }),
      ),
    ).toMatchObject({ code: "InvalidArgument", fields: { kinds: expect.any(String) } });

    const filtered = await wallet.listTransactions(request(userRef, { reference: "r" }, 1));
    expect(filtered.nextPageToken).not.toBe("");
    const reuse = (changes: Partial<ReturnType<typeof request>>) =>
      refusalOf(
        wallet.listTransactions({
          ...request(userRef, { reference: "r" }, 1, filtered.nextPageToken),
          ...changes,
        }),
      );
    for (const changes of [
      { reference: "" },
      { reference: "s" },
      { operation: "generate" },
      { kinds: [TransactionKind.CHARGE] },
      { startTime: timestampOf(at - 60_000_000n) },
      { userRef: "stmt:other" },
      { pageToken: "bm90LWEtdG9rZW4" },
    ]) {
      expect(await reuse(changes), JSON.stringify(Object.keys(changes))).toEqual({
        code: "InvalidArgument",
        reason: "INVALID_FIELD",
        fields: { page_token: expect.any(String) },
      });
    }
    // The same filters (and another page size) go on where the first page ended.
    const second = await wallet.listTransactions({
      ...request(userRef, { reference: "r" }, 5, filtered.nextPageToken),
    });
    expect(second.transactions.map((t) => t.reference)).toEqual(["r", "r"]);
  });

  it("pages stay stable while charges arrive: nothing repeated, nothing skipped", async () => {
    const userRef = "stmt:busy";
    await wallet.openAccount({ userRef });
    await wallet.grant({ userRef, amountCredits: 100_000n, reason: "load", idempotencyKey: "busy-grant" });
    let n = 0;
    const burst = () =>
      Promise.all(
        Array.from({ length: 4 }, () => {
          n++;
          const operation = n % 3 === 0 ? "edit" : "generate";
          return wallet.charge({ userRef, operation, idempotencyKey: `busy-${n}`, reference: `job-${n}` });
        }),
      );
    for (let i = 0; i < 8; i++) await burst();
    for (const filter of [{}, { kinds: [TransactionKind.CHARGE], operation: "generate" }] as Filter[]) {
      // Each page is read while four more charges commit around it.
      const paged = await pages(userRef, filter, 3, burst);
      const settled = (await pages(userRef, filter, 100)).filter((entry) => matches(entry, filter));
      expect(new Set(ids(paged)).size).toBe(paged.length);
      const start = settled.findIndex((entry) => entry.transferId === paged[0]?.transferId);
      expect(start).toBeGreaterThanOrEqual(0);
      expect(ids(paged)).toEqual(ids(settled.slice(start)));
      expect(paged.length).toBeGreaterThanOrEqual(9);
    }
  });
});
