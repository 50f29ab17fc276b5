// The whole RPC × scope matrix, written out here as the contract: each app's token reaches exactly
// what that app calls (and admin everything); no token is UNAUTHENTICATED, a wrong scope
// PERMISSION_DENIED. Allowed calls are sent empty, so they are refused by validation (or answered)
// and write nothing.
import { type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Scope } from "@billing/config";
import { HealthCheckResponse_ServingStatus as Status, Health } from "@billing/proto/grpc/health/v1/health_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BILLING_SERVICES } from "../../../src/routes.js";
import { type EdgeBilling, startEdgeBilling } from "./harness.js";

const B = "bot",
  W = "worker",
  H = "webhooks",
  S = "service";

/** Who besides admin may call what. Derived from grep of apps/bot, apps/worker, apps/webhooks. */
const MATRIX: Record<string, readonly Scope[]> = {
  "billing.v1.WalletService/OpenAccount": [B],
  "billing.v1.WalletService/GetBalance": [B, W],
  "billing.v1.WalletService/GetPriceList": [B],
  "billing.v1.WalletService/Charge": [],
  "billing.v1.WalletService/Reserve": [B],
  "billing.v1.WalletService/Commit": [W],
  "billing.v1.WalletService/Release": [B, W],
  "billing.v1.WalletService/GetHold": [B, W],
  "billing.v1.WalletService/Refund": [],
  "billing.v1.WalletService/Grant": [],
  "billing.v1.WalletService/ListTransactions": [B],
  "billing.v1.WalletService/SetLowBalanceThreshold": [],
  "billing.v1.WalletService/VerifyLedger": [],
  "billing.v1.PaymentService/ListTopUpOptions": [B],
  "billing.v1.PaymentService/CreateTopUp": [B],
  "billing.v1.PaymentService/GetPayment": [],
  "billing.v1.PaymentService/ListPayments": [B],
  "billing.v1.PaymentService/HandleNotification": [H],
  "billing.v1.PaymentService/SyncPayment": [],
  "billing.v1.PaymentService/RefundPayment": [],
  "billing.v1.PaymentService/CheckStarsPayment": [B],
  "billing.v1.PaymentService/CompleteStarsPayment": [B],
  "billing.v1.QuotaService/ListPlans": [],
  "billing.v1.QuotaService/SetPlan": [],
  "billing.v1.QuotaService/GetQuota": [S],
  "billing.v1.QuotaService/ConsumeQuota": [S],
  "billing.v1.QuotaService/AddQuota": [S],
  "billing.v1.ReportService/GetProductReport": [],
};

const CALLERS = ["admin", B, W, H, S, "no token", "unknown token"] as const;
type Caller = (typeof CALLERS)[number];

describe("RPC × scope matrix", () => {
  let billing: EdgeBilling;
  let before: string;
  beforeAll(async () => {
    billing = await startEdgeBilling({ label: "edge_scopes" });
    before = await billing.snapshot();
  });
  afterAll(async () => billing?.close());

  const transportOf = (caller: Caller) => {
    const token =
      caller === "no token"
        ? undefined
        : caller === "unknown token"
          ? "unknown-token-0123456789"
          : billing.tokens[caller];
    const auth: Interceptor = (next) => (request) => {
      if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    };
    return createGrpcTransport({
      baseUrl: billing.server.url,
      interceptors: [auth],
      defaultTimeoutMs: 10_000,
    });
  };

  /** The code an empty request of `procedure` gets from `caller` ("ok" if it succeeded). */
  const codeOf = async (service: DescService, method: string, caller: Caller): Promise<string> => {
    const client = createClient(service, transportOf(caller)) as unknown as Record<
      string,
      (r: object) => Promise<unknown>
    >;
    try {
      await client[method]!({});
      return "ok";
    } catch (error) {
      return Code[ConnectError.from(error).code];
    }
  };

  it("lists every RPC billing serves", () => {
    const served = BILLING_SERVICES.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    expect(served.sort()).toEqual(Object.keys(MATRIX).sort());
  });

  it("lets each caller reach exactly its RPCs", async () => {
    const mismatches: string[] = [];
    for (const service of BILLING_SERVICES) {
      for (const method of service.methods) {
        const procedure = `${service.typeName}/${method.name}`;
        for (const caller of CALLERS) {
          const code = await codeOf(service, method.localName, caller);
          const expected =
            caller === "no token" || caller === "unknown token"
              ? "Unauthenticated"
              : caller === "admin" || MATRIX[procedure]!.includes(caller)
                ? "allowed"
                : "PermissionDenied";
          const got = code === "Unauthenticated" || code === "PermissionDenied" ? code : "allowed";
          if (got !== expected) mismatches.push(`${procedure} as ${caller}: ${code}, expected ${expected}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(await billing.snapshot()).toBe(before);
  });

  it("keeps health open to probes without a token", async () => {
    const health = createClient(Health, transportOf("no token"));
    expect((await health.check({})).status).toBe(Status.SERVING);
  });
});
