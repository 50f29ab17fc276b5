export { startBillingServer, type BillingServer, type BillingServerOptions } from "./server.js";
export type { Clock } from "./domain/clock.js";
