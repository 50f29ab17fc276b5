// QuotaService's plan catalogue as the payments module's PlanPurchases port: a plan with a price
// and a period can be bought, and a succeeded payment activates it in the payment's transaction.
import type { PlanPurchases } from "../payments/index.js";
import type { Quotas } from "./quotas.js";

export function planPurchasesOf(quotas: Quotas): PlanPurchases {
  return {
    priceOf: (planCode) => {
      const plan = quotas.catalogue.find(planCode);
      const forSale =
        plan !== undefined && plan.priceMinor > 0n && plan.periodMonths > 0 && plan.currency === "RUB";
      return Promise.resolve(
        forSale
          ? {
              amountMinor: plan.priceMinor,
              currency: "RUB",
              title: plan.title,
              periodMonths: plan.periodMonths,
            }
          : undefined,
      );
    },
    activate: async (uow, { plan, ...command }) => {
      await quotas.activatePlan(uow, { ...command, planCode: plan.code, periodMonths: plan.periodMonths });
    },
  };
}
