// The seam between payments and plans. A payment with purpose PLAN asks this port for the plan's
// price when it is created and freezes the plan as sold then into the payment; when YooKassa reports
// it succeeded, the plan bought is activated inside the payment's own transaction — so the plan and
// the payment's status commit together, once, whatever the catalogue has become meanwhile.
// QuotaService's catalogue implements it (server.ts wires it); until then no plan can be bought.
import type { UnitOfWork } from "../domain/unit-of-work.js";

export interface PlanPrice {
  /** Kopecks. */
  readonly amountMinor: bigint;
  readonly currency: "RUB";
  /** Shown to the payer, e.g. "Pro (month)". */
  readonly title: string;
  /** Length of the period bought, in calendar months (≥ 1). */
  readonly periodMonths: number;
}

/** A plan as it was bought, frozen into its payment. */
export interface PlanBought {
  readonly code: string;
  readonly title: string;
  readonly periodMonths: number;
  readonly priceMinor: bigint;
}

export interface PlanPurchases {
  /** The price of a purchasable plan, or undefined when there is no such plan (UNKNOWN_PLAN). */
  priceOf(planCode: string): Promise<PlanPrice | undefined>;
  /** Activates the plan bought by `paymentId`, in the payment's transaction. Called once per payment. */
  activate(
    uow: UnitOfWork,
    command: { userRef: string; plan: PlanBought; paymentId: string; now: Date },
  ): Promise<void>;
}

/** No plans for sale: CreateTopUp with a plan_code answers UNKNOWN_PLAN. */
export const NO_PLAN_PURCHASES: PlanPurchases = {
  priceOf: () => Promise.resolve(undefined),
  activate: () => {
    // Unreachable: no PLAN payment can be created without a price.
    throw new Error("payments invariant: a plan payment succeeded but no plan catalogue is wired");
  },
};
