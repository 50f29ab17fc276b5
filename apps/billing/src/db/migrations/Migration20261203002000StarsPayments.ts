import { Migration } from "@mikro-orm/migrations";

/**
 * Telegram Stars as a second payment provider. Every payment names its provider; existing rows are
 * YooKassa's. A Stars payment is pending from the start (the bot sends the invoice; nobody is called
 * to create it), its currency is XTR and its amount whole stars, and its provider id is Telegram's
 * telegram_payment_charge_id, known only once it is paid. So the rule "a provider id exactly when no
 * longer creating" holds for YooKassa only; a Stars payment has one exactly when it succeeded.
 */
export class Migration20261203002000StarsPayments extends Migration {
  override up(): void {
    this.addSql(`
      alter table payments add column provider text not null default 'YOOKASSA'
        check (provider in ('YOOKASSA', 'TELEGRAM_STARS'))`);
    this.addSql(`alter table payments drop constraint payments_provider_id_after_create`);
    this.addSql(`
      alter table payments add constraint payments_provider_id_after_create check (
        status = 'CANCELED'
        or (provider = 'YOOKASSA' and (status = 'CREATING') = (provider_payment_id is null))
        or (provider = 'TELEGRAM_STARS' and status <> 'CREATING'
            and (status = 'SUCCEEDED') = (provider_payment_id is not null)))`);
    this.addSql(`
      alter table payments add constraint payments_stars_in_xtr check (
        (provider = 'TELEGRAM_STARS') = (currency = 'XTR')
        and (provider <> 'TELEGRAM_STARS' or (purpose = 'CREDITS' and amount_minor <= 10000)))`);
  }
}
