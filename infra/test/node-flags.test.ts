// The Node flags the apps run with (@billing/config's NODE_FLAGS: npm start and the benches) are the
// ones compose, Kubernetes and each app's own `start` script give them, so what was measured is
// what is deployed.
import { readFileSync } from "node:fs";
import { NODE_FLAGS } from "@billing/config";
import { describe, expect, it } from "vitest";
import { infraYaml, infraYamlDocuments } from "./files.js";

type App = keyof typeof NODE_FLAGS;
const APPS = Object.keys(NODE_FLAGS) as App[];

/** The flags before the script in a `node <flags…> <script>` command. */
const flagsOf = (command: readonly string[]) =>
  command.slice(
    1,
    command.findIndex((arg) => arg.endsWith(".js")),
  );

describe("node flags", () => {
  it.each(APPS)("%s runs with the same flags in compose, Kubernetes and its start script", (app) => {
    const compose = infraYaml("compose.yaml") as { services: Record<string, { command?: string[] }> };
    expect(flagsOf(compose.services[app]?.command ?? [])).toEqual(NODE_FLAGS[app]);

    const deployment = (infraYamlDocuments(`k8s/${app}.yaml`) as { kind: string; spec?: unknown }[]).find(
      (doc) => doc.kind === "Deployment",
    ) as { spec: { template: { spec: { containers: { name: string; command?: string[] }[] } } } };
    const container = deployment.spec.template.spec.containers.find((c) => c.name === app);
    expect(flagsOf(container?.command ?? [])).toEqual(NODE_FLAGS[app]);

    const manifest = JSON.parse(
      readFileSync(new URL(`../../apps/${app}/package.json`, import.meta.url), "utf8"),
    ) as {
      scripts: { start: string };
    };
    expect(flagsOf(manifest.scripts.start.split(" "))).toEqual(NODE_FLAGS[app]);
  });
});
