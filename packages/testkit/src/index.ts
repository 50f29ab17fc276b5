// Test kit: faithful local fakes of what lives outside the machine, and the PostgreSQL/NATS harness.
export * from "./yookassa/index.js";
