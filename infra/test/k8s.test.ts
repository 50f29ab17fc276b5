// The Kubernetes manifests must match what `npm run chaos` proved: billing side by side behind one
// Service, a 3-node JetStream cluster with R3 streams, replicas spread over machines and protected
// by disruption budgets, and readiness probes on the port and path each app really serves /readyz
// on — worked out by parsing each app's configuration from the environment the manifests give it.
// The kustomization is rendered by plain YAML parsing of the files it lists (no kubectl here).
import {
  billingEnvSchema,
  botEnvSchema,
  parseEnv,
  webhooksEnvSchema,
  workerEnvSchema,
} from "@billing/config";
import { describe, expect, it } from "vitest";
import { infraYaml, infraYamlDocuments } from "./files.js";

interface Labels {
  [key: string]: string;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
}
interface AffinityTerm {
  topologyKey: string;
  labelSelector: { matchLabels: Labels };
}
interface PodSpec {
  containers: Container[];
  affinity?: {
    podAntiAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: AffinityTerm[];
      preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: AffinityTerm }[];
    };
  };
}
interface Resource {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: Labels | { matchLabels: Labels };
    template?: { metadata: { labels: Labels }; spec: PodSpec };
    ports?: { name: string; port: number; targetPort: number | string }[];
    clusterIP?: string;
    podManagementPolicy?: string;
    minAvailable?: number;
    maxUnavailable?: number;
  };
}

const kustomization = infraYaml("k8s/kustomization.yaml") as { resources: string[] };
const rendered = kustomization.resources.flatMap((file) => infraYamlDocuments(`k8s/${file}`) as Resource[]);
// The secrets are created by the operator; the example shows which keys the apps read.
const secrets = infraYamlDocuments("k8s/secrets.example.yaml") as Resource[];

function find(kind: string, name: string): Resource {
  const found = rendered.find((resource) => resource.kind === kind && resource.metadata.name === name);
  if (found === undefined) throw new Error(`${kind}/${name} is not in the kustomization`);
  return found;
}

function podOf(workload: Resource): { labels: Labels; spec: PodSpec; container: Container } {
  const template = workload.spec?.template;
  const container = template?.spec.containers[0];
  if (template === undefined || container === undefined)
    throw new Error(`${workload.metadata.name} has no pod`);
  return { labels: template.metadata.labels, spec: template.spec, container };
}

const selects = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** What the container's process sees: its envFrom sources (config map, example secret), then env. */
function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name ?? source.secretRef?.name;
    const from = source.configMapRef !== undefined ? rendered : secrets;
    const kind = source.configMapRef !== undefined ? "ConfigMap" : "Secret";
    const resource = from.find((r) => r.kind === kind && r.metadata.name === name);
    expect(resource, `${kind} ${name}`).toBeDefined();
    Object.assign(env, resource?.data ?? {}, resource?.stringData ?? {});
  }
  for (const variable of container.env ?? [])
    if (variable.value !== undefined) env[variable.name] = variable.value;
  return env;
}

function portNumber(container: Container, port: number | string): number | undefined {
  if (typeof port === "number") return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

/** The port each app serves /readyz on, from its own configuration schema and the manifest's env. */
const readinessPortOf: Record<string, (env: Record<string, string>) => number> = {
  billing: (env) => parseEnv(billingEnvSchema, env).metricsPort,
  worker: (env) => parseEnv(workerEnvSchema, env).opsPort,
  bot: (env) => parseEnv(botEnvSchema, env).opsPort,
  webhooks: (env) => parseEnv(webhooksEnvSchema, env).port,
};

describe("infra/k8s (the kustomization, rendered)", () => {
  it("runs billing as at least 2 replicas behind one Service on its gRPC port", () => {
    const billing = find("Deployment", "billing");
    const { labels, container } = podOf(billing);
    expect(billing.spec?.replicas).toBeGreaterThanOrEqual(2);
    const services = rendered.filter(
      (r) => r.kind === "Service" && selects((r.spec?.selector ?? {}) as Labels, labels),
    );
    expect(services.map((s) => s.metadata.name)).toEqual(["billing"]);
    const servicePort = services[0]?.spec?.ports?.[0];
    expect(servicePort).toBeDefined();
    const target = portNumber(container, servicePort?.targetPort ?? "");
    expect(target).toBe(parseEnv(billingEnvSchema, environmentOf(container)).port);
  });

  it("runs NATS as a 3-node JetStream StatefulSet, and every app creates R3 streams on it", () => {
    const nats = find("StatefulSet", "nats");
    expect(nats.spec?.replicas).toBe(3);
    expect(nats.spec?.podManagementPolicy).toBe("Parallel");
    const conf = find("ConfigMap", "nats-config").data?.["nats.conf"] ?? "";
    expect(conf).toMatch(/jetstream\s*\{/);
    const routes = [...conf.matchAll(/nats:\/\/(nats-\d)\.nats:6222/g)].map((match) => match[1]);
    expect(routes).toEqual(["nats-0", "nats-1", "nats-2"]);
    expect(find("Service", "nats").spec?.clusterIP).toBe("None");
    for (const app of ["billing", "worker", "bot", "webhooks"]) {
      const env = environmentOf(podOf(find("Deployment", app)).container);
      expect(env.NATS_STREAM_REPLICAS, app).toBe("3");
      expect(
        env.NATS_URL?.split(",").map((url) => url.trim()),
        app,
      ).toEqual(["nats://nats-0.nats:4222", "nats://nats-1.nats:4222", "nats://nats-2.nats:4222"]);
    }
  });

  it("spreads replicas over machines (NATS strictly) and guards them with disruption budgets", () => {
    const spread: [kind: string, name: string, required: boolean][] = [
      ["Deployment", "billing", false],
      ["Deployment", "worker", false],
      ["Deployment", "webhooks", false],
      ["StatefulSet", "nats", true],
    ];
    for (const [kind, name, required] of spread) {
      const workload = find(kind, name);
      const { labels, spec } = podOf(workload);
      const anti = spec.affinity?.podAntiAffinity;
      const terms = required
        ? (anti?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
        : (anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((term) => term.podAffinityTerm);
      expect(
        terms.some(
          (term) =>
            term.topologyKey === "kubernetes.io/hostname" && selects(term.labelSelector.matchLabels, labels),
        ),
        `${name}: anti-affinity on its own pods per host`,
      ).toBe(true);

      const budgets = rendered.filter(
        (r) =>
          r.kind === "PodDisruptionBudget" &&
          selects((r.spec?.selector as { matchLabels: Labels } | undefined)?.matchLabels ?? {}, labels),
      );
      expect(budgets, `${name}: one PodDisruptionBudget`).toHaveLength(1);
      const budget = budgets[0]?.spec;
      const replicas = workload.spec?.replicas ?? 1;
      // At least one pod stays, and a drain can still proceed (the budget allows one eviction).
      const allowed = budget?.maxUnavailable ?? replicas - (budget?.minAvailable ?? replicas);
      expect(allowed, `${name}: evictions the budget allows`).toBeGreaterThanOrEqual(1);
      expect(replicas - allowed, `${name}: pods kept`).toBeGreaterThanOrEqual(1);
    }
    // A majority of the NATS cluster (2 of 3) is kept through any voluntary disruption.
    expect(find("PodDisruptionBudget", "nats").spec?.maxUnavailable).toBe(1);
  });

  it("probes each app's readiness on /readyz at the port its configuration makes it serve", () => {
    for (const [app, portOf] of Object.entries(readinessPortOf)) {
      const { container } = podOf(find("Deployment", app));
      const probe = container.readinessProbe?.httpGet;
      expect(probe?.path, app).toBe("/readyz");
      const probed = portNumber(container, probe?.port ?? "");
      expect(probed, `${app}: probed port`).toBe(portOf(environmentOf(container)));
    }
  });
});
