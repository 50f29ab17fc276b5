// @billing/worker: the consumer loop is still to come; for now the package exposes its provider layer.
export * from "./providers/index.js";
