import { Migration } from "@mikro-orm/migrations";

/**
 * A plan payment carries the plan it bought, frozen at creation: its title and period (the price is
 * the payment's amount_minor, the code its plan_code). A success then always settles with what was
 * paid for, even if the plan has since left the catalogue or lost its period.
 *
 * Existing plan payments are backfilled with their plan code as the title and one month, the period
 * of the plans billing shipped with (pro_month). A shop that sold longer plans and has plan payments
 * still unsettled at the upgrade must correct their plan_period_months; settled rows are history.
 */
export class Migration20261202000100FrozenPlan extends Migration {
  override up(): void {
    this.addSql(`alter table payments add column plan_title text, add column plan_period_months integer`);
    this.addSql(`update payments set plan_title = plan_code, plan_period_months = 1 where purpose = 'PLAN'`);
    this.addSql(`
      alter table payments add constraint payments_plan_frozen check (
        (purpose = 'PLAN') = (plan_title is not null and plan_period_months is not null)
        and (plan_period_months is null or plan_period_months between 1 and 36))`);
  }
}
