// nats-server processes of a test's own (never the machine's shared one): a single JetStream node or
// a cluster of them with routes on loopback, on free ports, with store folders in a temp dir. Each
// node is a handle that can be started later, killed for real and restarted with its store intact,
// which is how tests and the chaos script hold back, break and heal NATS.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./processes.js";

/** Debian's nats-server (override with NATS_SERVER_BIN). */
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
const MAX_LOG_CHARS = 100_000;
const START_TIMEOUT_MS = 15_000;

export interface NatsNode {
  readonly name: string;
  /** nats://127.0.0.1:<port> of this node. */
  readonly url: string;
  readonly port: number;
  /** http://127.0.0.1:<port> of its monitoring endpoint (/varz, /jsz, /healthz). */
  readonly monitorUrl: string;
  readonly running: boolean;
  /**
   * Starts the process (again, after a kill: same ports, same store) and waits until it listens.
   * `jetstream: false` runs it as plain NATS: connections work, every JetStream call fails.
   */
  start(options?: { jetstream?: boolean }): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM (lame-duck shutdown), SIGKILL after a grace. */
  stop(): Promise<void>;
  logs(): string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's URL, comma-separated (what NATS_URL gets). */
  readonly url: string;
  /** Stops every node and removes the store folders. */
  close(): Promise<void>;
}

interface NodeSpec {
  name: string;
  port: number;
  monitorPort: number;
  storeDir: string;
  cluster?: { name: string; port: number; routes: string[] };
}

function argsOf(spec: NodeSpec, jetstream: boolean): string[] {
  const args = ["-a", "127.0.0.1", "-p", String(spec.port), "-m", String(spec.monitorPort), "-n", spec.name];
  if (jetstream) args.push("-js", "-sd", spec.storeDir);
  if (spec.cluster !== undefined) {
    args.push("--cluster_name", spec.cluster.name, "--cluster", `nats://127.0.0.1:${spec.cluster.port}`);
    args.push("--routes", spec.cluster.routes.join(","));
  }
  return args;
}

function natsNode(spec: NodeSpec): NatsNode {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let logs = "";
  const monitorUrl = `http://127.0.0.1:${spec.monitorPort}`;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const signal = async (name: NodeJS.Signals, graceMs: number) => {
    if (!alive()) return;
    child?.kill(name);
    const timer = setTimeout(() => child?.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name: spec.name,
    url: `nats://127.0.0.1:${spec.port}`,
    port: spec.port,
    monitorUrl,
    get running() {
      return alive();
    },
    async start(options = {}) {
      if (alive()) return;
      const server = spawn(NATS_SERVER_BIN, argsOf(spec, options.jetstream ?? true), {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = server;
      const append = (chunk: Buffer) => {
        logs = (logs + chunk.toString()).slice(-MAX_LOG_CHARS);
      };
      server.stdout?.on("data", append);
      server.stderr?.on("data", append);
      exited = new Promise((resolve) => server.once("exit", () => resolve()));
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        if (!alive()) throw new Error(`nats-server ${spec.name} exited:\n${logs}`);
        const up = await fetch(`${monitorUrl}/varz`, { signal: AbortSignal.timeout(500) }).then(
          (response) => response.ok,
          () => false,
        );
        if (up) return;
        if (Date.now() > deadline) throw new Error(`nats-server ${spec.name} did not start:\n${logs}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    kill: () => signal("SIGKILL", 0),
    stop: () => signal("SIGTERM", 5_000),
    logs: () => logs,
  };
}

/** One JetStream node on free ports, not started yet (call start()); `close` removes its store. */
export async function natsServer(label: string): Promise<NatsNode & { close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `nats-${label}-`));
  const node = natsNode({
    name: label,
    port: await freePort(),
    monitorPort: await freePort(),
    storeDir: join(dir, "store"),
  });
  return Object.assign(node, {
    async close() {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/**
 * `size` JetStream nodes routed to each other on loopback, not started (start the nodes you want:
 * a cluster with fewer than a majority up has no meta leader).
 */
export async function natsCluster(label: string, size = 3): Promise<NatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), `nats-${label}-`));
  const specs: NodeSpec[] = [];
  for (let index = 0; index < size; index++) {
    specs.push({
      name: `${label}-${index + 1}`,
      port: await freePort(),
      monitorPort: await freePort(),
      storeDir: join(dir, `n${index + 1}`),
      cluster: { name: label, port: await freePort(), routes: [] },
    });
  }
  for (const spec of specs) {
    if (spec.cluster === undefined) continue;
    spec.cluster.routes = specs
      .filter((other) => other !== spec)
      .map((other) => `nats://127.0.0.1:${other.cluster?.port ?? 0}`);
  }
  const nodes = specs.map(natsNode);
  return {
    nodes,
    url: nodes.map((node) => node.url).join(","),
    async close() {
      await Promise.all(nodes.map((node) => node.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
