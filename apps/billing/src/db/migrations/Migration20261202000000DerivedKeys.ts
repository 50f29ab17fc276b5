import { Migration } from "@mikro-orm/migrations";

/**
 * Keys the service derives itself (quota debits per caller reference, quota additions per order)
 * move behind the "derived " prefix. Caller keys are printable ASCII without spaces, so no caller
 * key can ever spell a derived one again (before, a Charge keyed `quota:add:ORDER-1` blocked that
 * order's AddQuota forever). Only the quota commands ever stored derived keys.
 */
export class Migration20261202000000DerivedKeys extends Migration {
  override up(): void {
    this.addSql(
      `update idempotency_keys set key = 'derived ' || key
        where command in ('ConsumeQuota', 'AddQuota') and key like 'quota:%'`,
    );
  }
}
