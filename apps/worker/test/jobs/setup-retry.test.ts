// The worker's JetStream set-up is retried until it succeeds, and /readyz says where it stands. A
// nats-server of the test's own is held back: first absent, then up without JetStream (the
// connection works but every set-up call fails, as in a cluster with no meta leader), then with
// JetStream; later it is killed and restarted. The worker never gives up, and is ready exactly when
// it is set up and connected.
import { parseEnv, workerEnvSchema } from "@billing/config";
import {
  connectNats,
  jetstreamManager,
  natsNames,
  publishGenerationRequested,
  jetstream,
} from "@billing/events";
import { create } from "@bufbuild/protobuf";
import { GenerationRequestedSchema } from "@billing/proto/events/v1/jobs_pb";
import { natsServer, testToken, uniqueName, waitFor, type NatsNode } from "@billing/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type Worker } from "../../src/index.js";
import { testLog } from "./harness.js";

let nats: NatsNode & { close(): Promise<void> };
let worker: Worker | undefined;
const names = natsNames(uniqueName("worker_setup"));

beforeAll(async () => {
  nats = await natsServer("worker-setup");
});
afterAll(async () => {
  await worker?.close();
  await nats?.close();
});

async function readiness(): Promise<number> {
  if (worker === undefined) throw new Error("no worker");
  const response = await fetch(`http://127.0.0.1:${worker.opsPort}/readyz`);
  return response.status;
}

const readinessBecomes = (status: number) =>
  waitFor(`/readyz ${status}`, async () => ((await readiness()) === status ? true : undefined), 30_000);

/** Names of the client connections the node sees right now. */
async function connectionNames(): Promise<string[]> {
  const connz = (await (await fetch(`${nats.monitorUrl}/connz`)).json()) as {
    connections?: { name?: string }[];
  };
  return (connz.connections ?? []).map((connection) => connection.name ?? "");
}

describe("worker set-up against a NATS that is held back", { timeout: 90_000 }, () => {
  it("waits without exiting, is ready only once set up and while connected", async () => {
    let failedToStart: unknown;
    const config = parseEnv(workerEnvSchema, {
      NATS_URL: nats.url,
      NATS_NAMESPACE: names.namespace,
      // Billing is never called: no job reaches a handler that succeeds before the assertions end.
      BILLING_URL: "http://127.0.0.1:9",
      BILLING_TOKEN: testToken("worker").token,
      WORKER_OPS_HOST: "127.0.0.1",
      WORKER_OPS_PORT: "0",
      LOG_LEVEL: "silent",
    });
    worker = await startWorker({ config, log: testLog });
    worker.ready.catch((error: unknown) => (failedToStart = error));

    // 1. No NATS at all.
    expect(await readiness()).toBe(503);

    // 2. NATS without JetStream: connected, yet every set-up call fails; still not ready.
    await nats.start({ jetstream: false });
    await waitFor("the worker's connection", async () =>
      (await connectionNames()).includes("worker") ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await readiness()).toBe(503);

    // 3. JetStream arrives: the same worker finishes its set-up and becomes ready.
    await nats.kill();
    await nats.start({ jetstream: true });
    await worker.ready;
    await readinessBecomes(200);
    expect(failedToStart).toBeUndefined();

    // What it set up exists on the server, and the consumer really pulls.
    const nc = await connectNats({ servers: nats.url, name: "test-setup" });
    try {
      const jsm = await jetstreamManager(nc);
      const streams = (await jsm.streams.names().next()).sort();
      for (const stream of Object.values(names.streams)) expect(streams).toContain(stream);
      for (const bucket of Object.values(names.buckets)) expect(streams).toContain(`OBJ_${bucket}`);
      const consumer = await jsm.consumers.info(names.streams.jobs, names.durables.worker);
      expect(consumer.config.durable_name).toBe(names.durables.worker);
      await publishGenerationRequested(
        jetstream(nc),
        names,
        create(GenerationRequestedSchema, { jobId: "job-setup-1", holdId: "hold-1", operation: "generate" }),
      );
      await waitFor("the job delivered to the worker", async () => {
        const info = await jsm.consumers.info(names.streams.jobs, names.durables.worker);
        return info.delivered.stream_seq >= 1 ? true : undefined;
      });
    } finally {
      await nc.close();
    }

    // 4. NATS goes away: not ready; it comes back: ready again, with no restart of the worker.
    await nats.kill();
    await readinessBecomes(503);
    await nats.start();
    await readinessBecomes(200);
    expect(failedToStart).toBeUndefined();
  });
});
