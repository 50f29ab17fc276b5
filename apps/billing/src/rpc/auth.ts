// Bearer-token authentication with scopes. Tokens come from configuration (BILLING_TOKENS); each
// scope may call a fixed set of RPCs. Health and reflection stay open for probes and operators.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Scope, ScopedToken } from "@billing/config";
import { DomainError } from "../domain/errors.js";

/** RPCs open to everyone (no token): probes and schema discovery. */
const OPEN_SERVICES = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/** Which scopes may call each RPC ("Service/Method"). admin may call everything. */
const ALLOWED: Readonly<Record<string, readonly Scope[]>> = {
  "billing.v1.WalletService/OpenAccount": ["bot", "service"],
  "billing.v1.WalletService/GetBalance": ["bot", "worker", "service"],
  "billing.v1.WalletService/GetPriceList": ["bot", "worker", "service"],
  "billing.v1.WalletService/Charge": ["bot", "service"],
  "billing.v1.WalletService/Reserve": ["bot", "service"],
  "billing.v1.WalletService/Commit": ["worker", "service"],
  "billing.v1.WalletService/Release": ["bot", "worker", "service"],
  "billing.v1.WalletService/GetHold": ["bot", "worker", "service"],
  "billing.v1.WalletService/Refund": ["bot", "service"],
  "billing.v1.WalletService/Grant": [],
  "billing.v1.WalletService/ListTransactions": ["bot", "service"],
  "billing.v1.WalletService/VerifyLedger": [],
  "billing.v1.PaymentService/ListTopUpOptions": ["bot", "service"],
  "billing.v1.PaymentService/CreateTopUp": ["bot", "service"],
  "billing.v1.PaymentService/GetPayment": ["bot", "service"],
  "billing.v1.PaymentService/ListPayments": ["bot", "service"],
  "billing.v1.PaymentService/HandleNotification": ["webhooks"],
  "billing.v1.PaymentService/SyncPayment": [],
  "billing.v1.PaymentService/RefundPayment": [],
  "billing.v1.QuotaService/ListPlans": ["bot", "service"],
  "billing.v1.QuotaService/SetPlan": [],
  "billing.v1.QuotaService/GetQuota": ["bot", "service"],
  "billing.v1.QuotaService/ConsumeQuota": ["service"],
  "billing.v1.QuotaService/AddQuota": ["service"],
  "billing.v1.ReportService/GetProductReport": [],
};

export function isOpen(serviceName: string): boolean {
  return OPEN_SERVICES.has(serviceName);
}

/** The procedures that a scope may call, for tests and documentation. */
export function allowedScopes(procedure: string): readonly Scope[] | undefined {
  return ALLOWED[procedure];
}

export interface Authenticator {
  /** Returns the caller's scope, or throws UNAUTHENTICATED / PERMISSION_DENIED. */
  authorize(procedure: string, authorization: string | null): Scope;
}

export function createAuthenticator(tokens: readonly ScopedToken[]): Authenticator {
  // Compare fixed-length digests so that neither the length nor the content of a token leaks
  // through timing; every configured token is compared, whatever matched.
  const known = tokens.map((t) => ({ scope: t.scope, digest: digest(t.token) }));
  return {
    authorize(procedure, authorization) {
      const presented = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(authorization?.trim() ?? "")?.[1];
      if (presented === undefined) {
        throw new DomainError(
          "UNAUTHENTICATED",
          "missing bearer token: send the metadata 'authorization: Bearer <token>'",
        );
      }
      const presentedDigest = digest(presented);
      let scope: Scope | undefined;
      for (const candidate of known) {
        if (timingSafeEqual(candidate.digest, presentedDigest)) scope = candidate.scope;
      }
      if (scope === undefined) throw new DomainError("UNAUTHENTICATED", "unknown bearer token");
      if (scope === "admin") return scope;
      const allowed = ALLOWED[procedure];
      if (allowed === undefined || !allowed.includes(scope)) {
        throw new DomainError("PERMISSION_DENIED", `scope '${scope}' may not call ${procedure}`, {
          metadata: { scope, procedure },
        });
      }
      return scope;
    },
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
