// infra/nats/ is generated from the code; this fails when one changed without the other.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  bucketConfigs,
  natsDefinitionFiles,
  natsNames,
  streamConfigs,
  streamOptionsFor,
  bucketOptionsFor,
} from "../src/index.js";

const INFRA_NATS = fileURLToPath(new URL("../../../infra/nats/", import.meta.url));

function jsonFilesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? jsonFilesUnder(`${dir}/${entry.name}`, `${prefix}${entry.name}/`)
      : entry.name.endsWith(".json")
        ? [`${prefix}${entry.name}`]
        : [],
  );
}

describe("infra/nats definitions", () => {
  it("are exactly what the code defines (regenerate with `npm run nats:definitions`)", () => {
    const expected = natsDefinitionFiles();
    expect(jsonFilesUnder(INFRA_NATS).sort()).toEqual(Object.keys(expected).sort());
    for (const [path, content] of Object.entries(expected)) {
      // Compared as data, so a formatter may lay the files out its own way.
      expect(JSON.parse(readFileSync(`${INFRA_NATS}${path}`, "utf8")), path).toEqual(JSON.parse(content));
    }
  });

  it("describe the four streams of the design with bounded limits", () => {
    const jobs = JSON.parse(natsDefinitionFiles()["streams/JOBS.json"] ?? "{}") as Record<string, unknown>;
    expect(jobs).toMatchObject({
      retention: "workqueue",
      storage: "file",
      subjects: ["jobs.generation.requested"],
    });
    for (const path of Object.keys(natsDefinitionFiles()).filter((p) => p.startsWith("streams/"))) {
      const stream = JSON.parse(natsDefinitionFiles()[path] ?? "{}") as Record<string, number>;
      expect(stream.max_bytes, path).toBeGreaterThan(0);
      expect(stream.max_age, path).toBeGreaterThan(0);
      expect(stream.duplicate_window, path).toBeGreaterThan(0);
    }
  });

  it("replicate streams and buckets as NATS_STREAM_REPLICAS asks (3 on the production cluster)", () => {
    const production = natsNames("");
    const streams = streamConfigs(production, streamOptionsFor(production, 3));
    expect(streams.map((stream) => stream.num_replicas)).toEqual([3, 3, 3, 3]);
    expect(streams.find((stream) => stream.name === "JOBS")?.max_bytes).toBe(1024 * 1024 * 1024);
    expect(bucketConfigs(production, bucketOptionsFor(production, 3)).map((b) => b.options.replicas)).toEqual(
      [3, 3],
    );
    // A test namespace keeps its small bounds.
    const test = natsNames("t_x");
    expect(streamConfigs(test, streamOptionsFor(test)).find((s) => s.name === "t_x_JOBS")?.max_bytes).toBe(
      8 * 1024 * 1024,
    );
  });
});
