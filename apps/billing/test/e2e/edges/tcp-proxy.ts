// A TCP proxy in front of the shared PostgreSQL that a test can cut and heal: the outage is ours
// alone, the real server never stops. While cut, open connections are dropped and new ones are
// closed at once (the client sees ECONNRESET / "Connection terminated unexpectedly").
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  cut(): void;
  /** Like a blackholed network: connections are accepted and bytes go nowhere. */
  stall(): void;
  heal(): void;
  /** Drop the connection that sends the next COMMIT right after forwarding it (its answer is lost). */
  loseNextCommitAnswer(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; loseAnswer?: () => void }>();
  let isCut = false;
  let isStalled = false;
  let onCommit: (() => void) | undefined;
  const server = net.createServer((client) => {
    if (isCut) return void client.destroy();
    if (isStalled) return void client.on("error", () => undefined);
    const upstream = net.connect(target.port, target.host);
    const pair: { client: net.Socket; upstream: net.Socket; loseAnswer?: () => void } = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (isStalled) return;
      upstream.write(chunk);
      // A Query ('Q') or Parse ('P') message of COMMIT: PostgreSQL gets it, its answer is lost.
      if (
        onCommit !== undefined &&
        (chunk[0] === 0x51 || chunk[0] === 0x50) &&
        /\bcommit\b/i.test(chunk.toString("latin1"))
      ) {
        pair.loseAnswer = onCommit;
        onCommit = undefined;
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      if (pair.loseAnswer !== undefined) {
        const notify = pair.loseAnswer;
        drop();
        return notify();
      }
      if (pairs.has(pair) && !isStalled) client.write(chunk);
    });
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      isCut = true;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    stall() {
      isStalled = true;
    },
    heal() {
      isCut = false;
      isStalled = false;
    },
    loseNextCommitAnswer: () => new Promise((resolve) => (onCommit = resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/** `url` (a PostgreSQL URL) rewritten to go through `proxy`. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const rewritten = new URL(url);
  rewritten.host = `127.0.0.1:${proxy.port}`;
  return rewritten.toString();
}
