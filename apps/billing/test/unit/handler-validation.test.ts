// The handlers' validation, in memory: the same routes the server serves, through connect's
// createRouterTransport, with a domain that fails the test if it is ever reached. No PostgreSQL, no
// network: bad input is refused at the edge, with every bad field named, before any domain call.
import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { PaymentService } from "@billing/proto/billing/v1/payments_pb";
import { QuotaService } from "@billing/proto/billing/v1/quotas_pb";
import { type TransactionKind, WalletService } from "@billing/proto/billing/v1/wallet_pb";
import { describe, expect, it } from "vitest";
import { BILLING_SERVICES, type BillingContext, routes } from "../../src/routes.js";
import { HealthState } from "../../src/rpc/health.js";
import { toWireError } from "../../src/rpc/errors.js";
import { refusalOf } from "../support/refusal.js";

/** A context part whose every member fails: validation must refuse before reaching it. */
function unreachable(name: string): never {
  return new Proxy(
    {},
    {
      get: (_target, member) => {
        if (member === "then") return undefined;
        // Configuration reads are not domain calls (GetPriceList lists the prices).
        if (name === "ledger" && member === "config") return { prices: new Map([["generate", 10n]]) };
        throw new Error(`validation let a bad request reach ${name}.${String(member)}`);
      },
    },
  ) as never;
}

const context: BillingContext = {
  ledger: unreachable("ledger"),
  payments: unreachable("payments"),
  quotas: unreachable("quotas"),
  reports: unreachable("reports"),
  invariantChecks: [],
};

/** The server's mapping of domain errors to the wire (the rest of its interceptor needs a server). */
const wireErrors: Interceptor = (next) => async (request) => {
  try {
    return await next(request);
  } catch (error) {
    throw toWireError(error).wire;
  }
};

const transport = createRouterTransport(
  routes(context, new HealthState(BILLING_SERVICES.map((s) => s.typeName))),
  {
    router: { interceptors: [wireErrors] },
  },
);
const wallet = createClient(WalletService, transport);
const payments = createClient(PaymentService, transport);
const quotas = createClient(QuotaService, transport);

describe("handler validation (in memory)", () => {
  it("Charge names every bad field at once", async () => {
    expect(
      await refusalOf(wallet.charge({ userRef: "", operation: "Generate!", idempotencyKey: "" })),
    ).toEqual({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: {
        user_ref: expect.any(String),
        operation: expect.any(String),
        idempotency_key: expect.any(String),
      },
    });
  });

  it("Reserve refuses a timeout outside [1s, 24h] and a key with spaces", async () => {
    expect(
      await refusalOf(
        wallet.reserve({
          userRef: "valid:1",
          operation: "generate",
          idempotencyKey: "has space",
          timeout: { seconds: 86_401n, nanos: 0 },
        }),
      ),
    ).toEqual({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: { timeout: "must be between 1s and 24h", idempotency_key: expect.any(String) },
    });
  });

  it("Commit refuses a hold id that is not a UUID and a negative amount, in the field the caller used", async () => {
    expect(await refusalOf(wallet.commit({ holdId: "nope", amountCredits: -1n }))).toMatchObject({
      code: "InvalidArgument",
      fields: { hold_id: expect.any(String), amount_credits: "must not be negative" },
    });
    expect(await refusalOf(wallet.commit({ holdId: "nope", amount: -1n }))).toMatchObject({
      fields: { amount: "must not be negative" },
    });
  });

  it("Grant, Refund and ListTransactions refuse bad fields", async () => {
    expect(
      await refusalOf(wallet.grant({ userRef: "u 1", amountCredits: -5n, reason: "", idempotencyKey: "g" })),
    ).toMatchObject({ code: "InvalidArgument", fields: { user_ref: expect.any(String) } });
    expect(
      await refusalOf(wallet.listTransactions({ userRef: "valid:1", pageSize: 1_000_000 })),
    ).toMatchObject({ code: "InvalidArgument", fields: { page_size: expect.any(String) } });
  });

  it("GetBalance refuses a malformed as_of; ListTransactions names every bad filter at once", async () => {
    expect(
      await refusalOf(
        wallet.getBalance({ userRef: "valid:1", asOf: { seconds: 300_000_000_000n, nanos: 0 } }),
      ),
    ).toMatchObject({ code: "InvalidArgument", fields: { as_of: expect.any(String) } });
    expect(
      await refusalOf(
        wallet.listTransactions({
          userRef: "valid:1",
          startTime: { seconds: 2_000_000_000n, nanos: 0 },
          endTime: { seconds: 1_000_000_000n, nanos: -1 },
          kinds: [42 as TransactionKind],
          operation: "UPPER",
          reference: "\u0007",
        }),
      ),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: {
        end_time: expect.any(String),
        "kinds[0]": expect.any(String),
        operation: expect.any(String),
        reference: expect.any(String),
      },
    });
  });

  it("CheckStarsPayment and CompleteStarsPayment name every bad field of Telegram's order", async () => {
    expect(
      await refusalOf(
        payments.checkStarsPayment({
          userRef: "service:1",
          invoicePayload: "",
          currency: "xtr",
          totalAmount: 0n,
        }),
      ),
    ).toEqual({
      code: "InvalidArgument",
      reason: "INVALID_FIELD",
      fields: {
        user_ref: expect.any(String),
        invoice_payload: expect.any(String),
        currency: expect.any(String),
        total_amount: "must be positive",
      },
    });
    expect(
      await refusalOf(
        payments.completeStarsPayment({
          userRef: "telegram:1",
          invoicePayload: "x".repeat(129),
          currency: "XTR",
          totalAmount: 50n,
          telegramPaymentChargeId: "",
        }),
      ),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: { invoice_payload: expect.any(String), telegram_payment_charge_id: expect.any(String) },
    });
  });

  it("PaymentService and QuotaService refuse bad fields before their domain", async () => {
    expect(await refusalOf(payments.getPayment({ paymentId: "x" }))).toMatchObject({
      code: "InvalidArgument",
    });
    expect(
      await refusalOf(quotas.consumeQuota({ userRef: "", metric: "Chat Tokens", units: 0n, ref: "" })),
    ).toMatchObject({
      code: "InvalidArgument",
      fields: { user_ref: expect.any(String), metric: expect.any(String) },
    });
  });
});
