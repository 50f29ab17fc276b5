// Every migration, in order. Migrations are committed and never edited once landed: a change to the
// schema is a new file here.
import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261122000000Ledger } from "./Migration20261122000000Ledger.js";
import { Migration20261122000100Payments } from "./Migration20261122000100Payments.js";
import { Migration20261122000200Quotas } from "./Migration20261122000200Quotas.js";
import { Migration20261202000000DerivedKeys } from "./Migration20261202000000DerivedKeys.js";
import { Migration20261202000100FrozenPlan } from "./Migration20261202000100FrozenPlan.js";
import { Migration20261203000300LowBalance } from "./Migration20261203000300LowBalance.js";
import { Migration20261203001000TransferHistory } from "./Migration20261203001000TransferHistory.js";
import { Migration20261203002000StarsPayments } from "./Migration20261203002000StarsPayments.js";
import { Migration20261203004000PromoLots } from "./Migration20261203004000PromoLots.js";

export const migrationsList: MigrationObject[] = [
  { name: "Migration20261122000000Ledger", class: Migration20261122000000Ledger },
  { name: "Migration20261122000100Payments", class: Migration20261122000100Payments },
  { name: "Migration20261122000200Quotas", class: Migration20261122000200Quotas },
  { name: "Migration20261202000000DerivedKeys", class: Migration20261202000000DerivedKeys },
  { name: "Migration20261202000100FrozenPlan", class: Migration20261202000100FrozenPlan },
  { name: "Migration20261203000300LowBalance", class: Migration20261203000300LowBalance },
  { name: "Migration20261203001000TransferHistory", class: Migration20261203001000TransferHistory },
  { name: "Migration20261203002000StarsPayments", class: Migration20261203002000StarsPayments },
  { name: "Migration20261203004000PromoLots", class: Migration20261203004000PromoLots },
];
