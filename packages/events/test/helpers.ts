// A NATS namespace per test: its own streams, consumers and buckets, deleted afterwards.
import { createLogger } from "@billing/observability";
import { NATS_URL, uniqueName } from "@billing/testkit";
import { openNamespace, type OwnNamespace } from "../src/index.js";

export const log = createLogger({ app: "events-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });

export function openTestNamespace(label: string): Promise<OwnNamespace> {
  return openNamespace({ servers: NATS_URL, namespace: uniqueName(label), name: `test-${label}` });
}

export { waitFor } from "@billing/testkit";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
