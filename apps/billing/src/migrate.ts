// `npm run migrate`: applies the committed migrations (creating the database if absent) and exits.
import { billingEnvSchema, exitOnConfigError, parseEnv } from "@billing/config";
import { createLogger } from "@billing/observability";
import { migrate, openDatabase } from "./db/database.js";

let config;
try {
  config = parseEnv(billingEnvSchema);
} catch (error) {
  exitOnConfigError(error, "billing migrate");
}
const log = createLogger({ app: "billing-migrate", level: config.logLevel });
const db = await openDatabase({
  url: config.databaseUrl,
  poolMax: 2,
  createDatabase: config.createDatabase,
  log,
});
try {
  const applied = await migrate(db);
  log.info({ applied }, applied.length > 0 ? "migrations applied" : "database is up to date");
} finally {
  await db.close();
}
