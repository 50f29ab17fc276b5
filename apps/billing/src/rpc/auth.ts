// Bearer-token authentication with scopes. Tokens come from configuration (BILLING_TOKENS); each
// scope may call a fixed set of RPCs. Health and reflection stay open for probes and operators.
import { hash, timingSafeEqual } from "node:crypto";
import type { Scope, ScopedToken } from "@billing/config";
import { DomainError } from "../domain/errors.js";

/** RPCs open to everyone (no token): probes and schema discovery. */
const OPEN_SERVICES = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/**
 * What each scope may call ("Service/Method"); admin may call everything. Each list is what that
 * app really calls (grep its src/ for `billing.wallet.` etc.) and nothing more: a leaked bot token
 * cannot refund, grant or charge.
 */
const CALLS_OF: Readonly<Record<Exclude<Scope, "admin">, readonly string[]>> = {
  // apps/bot: /start and the menus, paid modes (Reserve → job; Release when publishing fails;
  // GetHold before delivering a result), the balance screen (its promo lots), top-ups.
  bot: [
    "billing.v1.WalletService/OpenAccount",
    "billing.v1.WalletService/GetBalance",
    "billing.v1.WalletService/GetPriceList",
    "billing.v1.WalletService/Reserve",
    "billing.v1.WalletService/Release",
    "billing.v1.WalletService/GetHold",
    "billing.v1.WalletService/ListTransactions",
    "billing.v1.PaymentService/ListTopUpOptions",
    "billing.v1.PaymentService/CreateTopUp",
    // Telegram Stars: pre_checkout_query and successful_payment; the statement names Stars top-ups.
    "billing.v1.PaymentService/CheckStarsPayment",
    "billing.v1.PaymentService/CompleteStarsPayment",
    "billing.v1.PaymentService/ListPayments",
  ],
  // apps/worker: the hold of each job, settled once; the balance after, for the result message.
  worker: [
    "billing.v1.WalletService/GetHold",
    "billing.v1.WalletService/Commit",
    "billing.v1.WalletService/Release",
    "billing.v1.WalletService/GetBalance",
  ],
  // apps/webhooks: YooKassa notifications, handed over.
  webhooks: ["billing.v1.PaymentService/HandleNotification"],
  // Internal metered services (README, "Plans and quotas").
  service: [
    "billing.v1.QuotaService/GetQuota",
    "billing.v1.QuotaService/ConsumeQuota",
    "billing.v1.QuotaService/AddQuota",
  ],
};

const ALLOWED = new Map<string, ReadonlySet<Scope>>();
for (const [scope, procedures] of Object.entries(CALLS_OF) as [Scope, readonly string[]][]) {
  for (const procedure of procedures)
    ALLOWED.set(procedure, new Set([...(ALLOWED.get(procedure) ?? []), scope]));
}

export function isOpen(serviceName: string): boolean {
  return OPEN_SERVICES.has(serviceName);
}

/** The scopes besides admin that may call `procedure` ("Service/Method"). */
export function scopesAllowed(procedure: string): readonly Scope[] {
  return [...(ALLOWED.get(procedure) ?? [])];
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
      if (ALLOWED.get(procedure)?.has(scope) !== true) {
        throw new DomainError("PERMISSION_DENIED", `scope '${scope}' may not call ${procedure}`, {
          metadata: { scope, procedure },
        });
      }
      return scope;
    },
  };
}

function digest(value: string): Buffer {
  return hash("sha256", value, "buffer");
}
