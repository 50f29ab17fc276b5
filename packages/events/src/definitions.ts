// The production (empty namespace) stream, consumer and bucket definitions as the JSON files under
// infra/nats/ — in the server's own format (durations in nanoseconds), usable with the nats CLI:
// `nats stream add --config infra/nats/streams/JOBS.json`. They are generated from this code
// (`npm run nats:definitions`) and a test fails when they drift.
import { botBillingConsumer, botResultsConsumer, workerConsumer } from "./consumers.js";
import { natsNames } from "./names.js";
import { bucketConfigs } from "./objects.js";
import { streamConfigs } from "./streams.js";

/** Path under infra/nats/ → file content. */
export function natsDefinitionFiles(): Record<string, string> {
  const names = natsNames("");
  const files: Record<string, string> = {};
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  for (const stream of streamConfigs(names)) files[`streams/${stream.name}.json`] = json(stream);
  for (const consumer of [workerConsumer(names), botResultsConsumer(names), botBillingConsumer(names)]) {
    files[`consumers/${consumer.stream}.${consumer.config.durable_name ?? ""}.json`] = json(consumer.config);
  }
  files["buckets.json"] = json(bucketConfigs(names).map(({ bucket, options }) => ({ bucket, ...options })));
  return files;
}
