// The money effects of quotas (metrics and the audit log). No I/O.
import type { MoneyEffect } from "../observability/effects.js";

export function quotaEffect(
  kind: "quota_debit" | "quota_credit",
  command: { userRef: string; metric: string; units: bigint; plan: string; key: string },
): MoneyEffect {
  return {
    kind,
    userRef: command.userRef,
    amount: command.units,
    unit: "units",
    idempotencyKey: command.key,
    metric: command.metric,
    plan: command.plan,
  };
}
