// A TCP proxy a test can cut: while cut, open connections are destroyed and new ones refused (the
// port stops listening), as when a server goes away; heal() listens on the same port again.
import { createServer, type Server, type Socket, connect } from "node:net";

export interface TcpProxy {
  readonly url: string;
  cut(): Promise<void>;
  heal(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(
  target: { host: string; port: number },
  scheme: string,
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const serve = (): Server =>
    createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  const stop = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  let server = serve();
  const port = await listen(server, 0);
  let listening = true;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    async cut() {
      if (!listening) return;
      listening = false;
      await stop(server);
    },
    async heal() {
      if (listening) return;
      server = serve();
      await listen(server, port);
      listening = true;
    },
    async close() {
      if (listening) await stop(server);
      listening = false;
    },
  };
}
