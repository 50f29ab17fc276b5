// Test kit: faithful local fakes of what lives outside the machine, and the PostgreSQL/NATS harness.
export {};
export * from "./telegram/index.js";
