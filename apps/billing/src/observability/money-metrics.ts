// Billing's domain counters, one increment per committed effect. Every label set is bounded: kinds,
// operations of the price list, funding sources, quota metrics and plans — never a user or an id.
import { Counter, type Registry } from "@billing/observability";
import type { MoneyEffect } from "./effects.js";

export interface MoneyMetrics {
  count(effect: MoneyEffect): void;
  /** YooKassa's payment and billing's disagree (nothing credited; operators must look). */
  paymentMismatch(): void;
  /** A quota debit refused with QUOTA_EXCEEDED (nothing used, so no effect). */
  quotaExceeded(metric: string, plan: string): void;
}

const FUNDING = ["FREE_OPERATION", "CREDITS", "NONE"] as const;

export function createMoneyMetrics(
  registry: Registry,
  known: { operations: readonly string[]; quotas: readonly { metric: string; plan: string }[] },
): MoneyMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const charges = counter("billing_charges_total", "Charges, by operation and funding source", [
    "operation",
    "funded_by",
  ]);
  const holds = counter("billing_holds_total", "Holds reserved, by operation and funding source", [
    "operation",
    "funded_by",
  ]);
  const resolutions = counter(
    "billing_hold_resolutions_total",
    "Holds resolved: posted (committed), voided (released) or expired, by operation and funding source",
    ["operation", "funded_by", "outcome"],
  );
  const generations = counter(
    "billing_generations_total",
    "Paid-for operations done: charges and committed holds, by operation and funding source",
    ["operation", "funded_by"],
  );
  const creditsSpent = counter("billing_credits_spent_total", "Credits spent (charged or committed)", [
    "operation",
  ]);
  const freeOpsUsed = counter(
    "billing_free_operations_used_total",
    "Free operations used (charged or committed)",
    ["operation"],
  );
  const payments = counter("billing_payments_total", "Payments created, succeeded and canceled", ["event"]);
  const paymentKopecks = counter(
    "billing_payments_kopecks_total",
    "Amounts of payments created, succeeded and canceled, in kopecks",
    ["event"],
  );
  const refunds = counter("billing_refunds_total", "Refunds: of a charge (to its source) or of a payment", [
    "kind",
  ]);
  const refundedAmount = counter(
    "billing_refunded_amount_total",
    "What refunds returned: credits or free operations of charges, kopecks of payments",
    ["kind", "unit"],
  );
  const grants = counter(
    "billing_grants_total",
    "Operator grants, by what they gave (credits, free_operations)",
    ["unit"],
  );
  const starterGrants = counter(
    "billing_starter_grants_total",
    "New accounts given the starter free operations (one per new user)",
    [],
  );
  const grantedAmount = counter("billing_granted_amount_total", "What grants credited, by unit", ["unit"]);
  const quotaDebits = counter(
    "billing_quota_debits_total",
    "Quota debits (ConsumeQuota), by metric, plan and result (ok or exceeded)",
    ["metric", "plan", "result"],
  );
  const quotaCredits = counter(
    "billing_quota_credits_total",
    "Quota credits (AddQuota), by metric and plan",
    ["metric", "plan"],
  );
  const creditsExpired = counter(
    "billing_credits_expired_total",
    "Promo credits expired: a lot's remainder at its expiry, or value returned to an expired lot",
    ["cause"],
  );
  const mismatches = counter(
    "billing_payment_mismatches_total",
    "Payments whose YooKassa object disagrees with billing's (nothing credited)",
    [],
  );

  // Every series an alert or a rule divides by exists from the start at 0.
  for (const operation of known.operations) {
    for (const funded_by of FUNDING) {
      charges.inc({ operation, funded_by }, 0);
      holds.inc({ operation, funded_by }, 0);
      generations.inc({ operation, funded_by }, 0);
      for (const outcome of ["posted", "voided", "expired"])
        resolutions.inc({ operation, funded_by, outcome }, 0);
    }
    creditsSpent.inc({ operation }, 0);
    freeOpsUsed.inc({ operation }, 0);
  }
  for (const kind of ["charge", "payment"]) refunds.inc({ kind }, 0);
  for (const event of ["created", "succeeded", "canceled"]) {
    payments.inc({ event }, 0);
    paymentKopecks.inc({ event }, 0);
  }
  for (const { metric, plan } of known.quotas) {
    for (const result of ["ok", "exceeded"]) quotaDebits.inc({ metric, plan, result }, 0);
    quotaCredits.inc({ metric, plan }, 0);
  }
  for (const unit of ["credits", "free_operations"]) {
    grants.inc({ unit }, 0);
    grantedAmount.inc({ unit }, 0);
  }
  mismatches.inc(0);
  for (const cause of ["lot_expired", "returned_after_expiry"]) creditsExpired.inc({ cause }, 0);
  starterGrants.inc(0);

  const spent = (effect: MoneyEffect, operation: string) => {
    if (effect.fundedBy === "CREDITS") creditsSpent.inc({ operation }, Number(effect.amount));
    if (effect.fundedBy === "FREE_OPERATION") freeOpsUsed.inc({ operation }, Number(effect.amount));
  };

  return {
    count(effect) {
      const operation = effect.operation ?? "";
      const funded_by = effect.fundedBy ?? "NONE";
      const amount = Number(effect.amount);
      switch (effect.kind) {
        case "charge":
          charges.inc({ operation, funded_by });
          generations.inc({ operation, funded_by });
          return spent(effect, operation);
        case "hold":
          return holds.inc({ operation, funded_by });
        case "hold_posted":
          resolutions.inc({ operation, funded_by, outcome: "posted" });
          generations.inc({ operation, funded_by });
          return spent(effect, operation);
        case "hold_voided":
          return resolutions.inc({ operation, funded_by, outcome: "voided" });
        case "hold_expired":
          return resolutions.inc({ operation, funded_by, outcome: "expired" });
        case "refund":
          refunds.inc({ kind: "charge" });
          return refundedAmount.inc({ kind: "charge", unit: effect.unit }, amount);
        case "payment_refunded":
          refunds.inc({ kind: "payment" });
          return refundedAmount.inc({ kind: "payment", unit: effect.unit }, amount);
        case "grant":
          grants.inc({ unit: effect.unit });
          return grantedAmount.inc({ unit: effect.unit }, amount);
        case "starter_grant":
          return starterGrants.inc();
        case "payment_created":
        case "payment_succeeded":
        case "payment_canceled": {
          const event = effect.kind.slice("payment_".length);
          payments.inc({ event });
          // Stars payments are counted, but their stars are not kopecks.
          if (effect.unit === "kopecks") paymentKopecks.inc({ event }, amount);
          return;
        }
        case "quota_debit":
          return quotaDebits.inc({ metric: effect.metric ?? "", plan: effect.plan ?? "", result: "ok" });
        case "quota_credit":
          return quotaCredits.inc({ metric: effect.metric ?? "", plan: effect.plan ?? "" });
        case "credits_expired":
          return creditsExpired.inc({ cause: effect.cause ?? "lot_expired" }, amount);
      }
    },
    paymentMismatch: () => mismatches.inc(),
    quotaExceeded: (metric, plan) => quotaDebits.inc({ metric, plan, result: "exceeded" }),
  };
}
