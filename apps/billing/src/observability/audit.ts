// The audit log: one structured JSON line per committed money effect, so an operator can answer
// "what happened to user X's 300 ₽ at 14:05" with grep. It names the user, the amount and its unit,
// the transfer / hold / payment, a hash of the caller's idempotency key and the caller's scope — and
// never a token, a secret or the key itself (keys are the caller's to keep).
import { hash } from "node:crypto";
import type { Logger } from "@billing/observability";
import type { CallerScope, MoneyEffect } from "./effects.js";

export interface AuditLog {
  write(effect: MoneyEffect, scope: CallerScope): void;
}

/** The first 16 hex digits of SHA-256: enough to match a caller's key, useless to replay it. */
export function idempotencyKeyHash(key: string): string {
  return hash("sha256", key, "hex").slice(0, 16);
}

export function createAuditLog(log: Logger): AuditLog {
  const audit = log.child({ component: "audit" });
  return {
    write(effect, scope) {
      audit.info(
        {
          kind: effect.kind,
          user_ref: effect.userRef,
          amount: effect.amount.toString(),
          unit: effect.unit,
          transfer_id: effect.transferId,
          hold_id: effect.holdId,
          payment_id: effect.paymentId,
          refund_id: effect.refundId,
          operation: effect.operation,
          funded_by: effect.fundedBy,
          metric: effect.metric,
          plan: effect.plan,
          idempotency_key_hash:
            effect.idempotencyKey === undefined ? undefined : idempotencyKeyHash(effect.idempotencyKey),
          scope,
        },
        "money effect",
      );
    },
  };
}
