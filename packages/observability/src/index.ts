export { createLogger, type Logger } from "./logger.js";
export { createMetricsRegistry, Counter, Gauge, Histogram, Registry } from "./metrics.js";
export { startOpsServer, type OpsServer, type OpsServerOptions } from "./ops-server.js";
