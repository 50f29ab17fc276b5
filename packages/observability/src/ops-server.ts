import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface OpsServerOptions {
  host?: string;
  port: number;
  registry: Registry;
  /** Liveness: the process works (false = restart me). */
  live?: () => boolean;
  /** Readiness: dependencies are reachable (false = send no traffic). */
  ready: () => boolean | Promise<boolean>;
  /** Extra routes of the app (e.g. the webhook endpoint), tried before the built-in ones. */
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface OpsServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** /healthz, /readyz and /metrics on a plain HTTP/1.1 port, for Kubernetes probes and Prometheus. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    if (options.handle?.(req, res) === true) return;
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz") return reply((options.live?.() ?? true) ? 200 : 503, "ok\n");
    if (path === "/readyz") {
      Promise.resolve(options.ready())
        .then((ok) => reply(ok ? 200 : 503, ok ? "ready\n" : "not ready\n"))
        .catch(() => reply(503, "not ready\n"));
      return;
    }
    if (path === "/metrics") {
      options.registry
        .metrics()
        .then((text) => reply(200, text, options.registry.contentType))
        .catch(() => reply(500, "metrics unavailable\n"));
      return;
    }
    reply(404, "not found\n");
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
