import { Migration } from "@mikro-orm/migrations";

/**
 * The low-balance watch of a user's CREDITS account (ledger/low-balance.ts), on the account row so
 * that the account-load trip of every command reads it with the lock it takes anyway:
 *   - low_balance_threshold_credits: an admin's override of the configured default
 *     (BILLING_LOW_BALANCE_THRESHOLD_CREDITS); null = the default applies;
 *   - topped_up: set when the first TOP_UP transfer lands (the bot nudges only users who have paid
 *     before). Backfilled from the TOP_UP transfers already recorded.
 * Both are meaningless on system accounts and on FREE_OPERATIONS accounts, which the CHECK refuses.
 */
export class Migration20261203000300LowBalance extends Migration {
  override up(): void {
    this.addSql(`
      alter table ledger_accounts
        add column low_balance_threshold_credits bigint,
        add column topped_up boolean not null default false`);
    this.addSql(`
      update ledger_accounts a set topped_up = true
       where a.kind = 'USER' and a.asset = 'CREDITS'
         and exists (select 1 from ledger_transfers t where t.credit_account_id = a.id and t.kind = 'TOP_UP')`);
    this.addSql(`
      alter table ledger_accounts add constraint ledger_accounts_low_balance_watch check (
        (low_balance_threshold_credits is null or low_balance_threshold_credits >= 0)
        and ((kind = 'USER' and asset = 'CREDITS')
             or (low_balance_threshold_credits is null and not topped_up)))`);
  }
}
