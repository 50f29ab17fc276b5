// Test kit: faithful local fakes of what lives outside the machine, and the PostgreSQL/NATS harness.
export {
  dropDatabase,
  NATS_URL,
  PG_ADMIN_URL,
  testDatabase,
  testToken,
  uniqueName,
  waitFor,
  withPg,
  type TestDatabase,
} from "./harness.js";
export { metricValue, sumOfSamples } from "./metrics.js";
export { NATS_SERVER_BIN, natsCluster, natsServer, type NatsCluster, type NatsNode } from "./nats-server.js";
export {
  freePort,
  spawnApp,
  startBillingProcess,
  waitForHttpOk,
  type AppName,
  type AppProcess,
  type BillingProcess,
} from "./processes.js";
export * from "./providers/index.js";
export * from "./telegram/index.js";
export * from "./yookassa/index.js";
