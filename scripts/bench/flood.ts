// Unauthenticated flood, run as its own process: `connections` HTTP/2 connections, each keeping as
// many streams open as the server allows (like h2load -c 2 -m 100), every stream a gRPC Charge
// with no token and a 1 MiB body, back to back until SIGTERM; then one JSON line: answers by
// grpc-status, resets, and the bytes that left this process.
//   startFlood(url) runs it from the benchmark; `node --import tsx scripts/bench/flood.ts URL` alone.
import { type ChildProcess, spawn } from "node:child_process";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";

const BODY_BYTES = 1024 * 1024;
const PATH = "/billing.v1.WalletService/Charge";

export interface FloodStats {
  requests: number;
  byStatus: Record<string, number>;
  sentMb: number;
}

export interface Flood {
  stop(): Promise<FloodStats>;
}

/** Starts the flood in a child process against `url`. */
export function startFlood(url: string, connections = 2): Flood {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), url, String(connections)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as FloodStats;
    },
  };
}

async function flood(url: string, connections: number): Promise<void> {
  const body = Buffer.alloc(BODY_BYTES);
  body.writeUInt32BE(BODY_BYTES - 5, 1);
  const stats: FloodStats = { requests: 0, byStatus: {}, sentMb: 0 };
  const sessions = new Set<http2.ClientHttp2Session>();
  let closedSessionBytes = 0;
  let stopping = false;
  const count = (key: string) => (stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1);

  const stream = (session: http2.ClientHttp2Session) =>
    new Promise<void>((resolve) => {
      const request = session.request({
        ":method": "POST",
        ":path": PATH,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let status = "none";
      const read = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] !== undefined) status = `grpc-status ${String(headers["grpc-status"])}`;
      };
      request
        .on("response", read)
        .on("trailers", read)
        .on("error", () => undefined)
        .resume();
      request.on("close", () => {
        stats.requests++;
        count(status === "none" ? `reset ${request.rstCode}` : status);
        resolve();
      });
      request.end(body);
    });

  const worker = async (session: http2.ClientHttp2Session) => {
    while (!stopping && !session.destroyed) await stream(session);
  };
  const open = async () => {
    const session = http2.connect(url, { maxSessionMemory: 1_000 });
    session.on("error", () => undefined);
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    sessions.add(session);
    session.once("close", () => {
      closedSessionBytes += session.socket?.bytesWritten ?? 0;
      sessions.delete(session);
    });
    const streams = Math.min(session.remoteSettings.maxConcurrentStreams ?? 100, 100);
    await Promise.all(Array.from({ length: streams }, () => worker(session)));
  };
  process.once("SIGTERM", () => {
    stopping = true;
    const open = [...sessions].reduce((sum, s) => sum + (s.socket?.bytesWritten ?? 0), 0);
    stats.sentMb = Math.round((open + closedSessionBytes) / 1024 / 1024);
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    process.exit(0);
  });
  // A connection the server closes (GOAWAY, idle) is replaced at once.
  const connection = async () => {
    while (!stopping) await open();
  };
  await Promise.all(Array.from({ length: connections }, connection));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await flood(process.argv[2] ?? "http://127.0.0.1:50051", Number(process.argv[3] ?? 2));
}
