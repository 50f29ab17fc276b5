// The sockets billing listens on: HTTP/2 (h2c, or TLS with HTTP/1.1 fallback) for gRPC, gRPC-Web
// and Connect, and optionally a plain HTTP/1.1 port for Connect and gRPC-Web clients that cannot
// speak h2c. Every listener bounds what a connection may hold: streams, nghttp2 memory, time to
// send its first request, time to deliver a request body, and time spent doing nothing.
import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { EdgeLimits } from "@billing/config";

const IDLE_CLOSE_GRACE_MS = 1_000;
const INITIAL_WINDOW_BYTES = 16 * 1024;

export type RpcHandler = (
  req: IncomingMessage | http2.Http2ServerRequest,
  res: ServerResponse | http2.Http2ServerResponse,
) => void;

export interface RpcListenersOptions {
  handler: RpcHandler;
  host: string;
  port: number;
  /** Serve HTTP/1.1 (Connect, gRPC-Web) on this port too; undefined = no such listener. */
  http1Port: number | undefined;
  tls: { certPath: string; keyPath: string } | undefined;
  limits: EdgeLimits;
}

export interface RpcListeners {
  readonly port: number;
  readonly http1Port: number | undefined;
  /** Stops accepting connections and asks open ones to finish (GOAWAY; keep-alive off). */
  stopAccepting(): void;
  /** Resolves when every connection has closed, or after `waitMs`; what is left is cut. */
  drain(waitMs: number): Promise<void>;
}

export async function startRpcListeners(options: RpcListenersOptions): Promise<RpcListeners> {
  const { limits } = options;
  const h2Options: http2.ServerOptions = {
    // A small initial window: what a refused stream can push before its refusal (legitimate
    // requests are a few KiB; larger ones get WINDOW_UPDATEs as they are read).
    settings: {
      maxConcurrentStreams: limits.maxStreamsPerConnection,
      initialWindowSize: INITIAL_WINDOW_BYTES,
    },
    maxSessionMemory: limits.maxSessionMemoryMb,
  };
  const h2 =
    options.tls === undefined
      ? http2.createServer(h2Options, options.handler)
      : http2.createSecureServer(
          {
            ...h2Options,
            cert: readFileSync(options.tls.certPath),
            key: readFileSync(options.tls.keyPath),
            allowHTTP1: true,
          },
          options.handler,
        );
  const sessions = guardSessions(h2, limits);
  const port = await listen(h2, options.port, options.host);

  let http1: http.Server | undefined;
  let http1Port: number | undefined;
  if (options.http1Port !== undefined) {
    http1 = http.createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestBodyTimeoutMs + limits.defaultDeadlineMs,
        keepAliveTimeout: limits.idleTimeoutMs,
      },
      options.handler,
    );
    http1.maxConnections = limits.maxCallsInFlight;
    http1Port = await listen(http1, options.http1Port, options.host);
  }

  return {
    port,
    http1Port,
    stopAccepting() {
      h2.close();
      for (const session of sessions) session.close();
      http1?.close();
      http1?.closeIdleConnections();
    },
    async drain(waitMs) {
      const closed = Promise.all(
        [...sessions].map((session) => new Promise((resolve) => session.once("close", resolve))),
      );
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
      for (const session of sessions) session.destroy();
      http1?.closeAllConnections();
    },
  };
}

/**
 * Watches every HTTP/2 connection: it must complete its first request's headers within
 * `headersTimeoutMs`, each request body must arrive within `requestBodyTimeoutMs`, and a connection
 * with no stream open for `idleTimeoutMs` is sent GOAWAY. Slow or silent peers hold nothing for long.
 */
function guardSessions(
  server: http2.Http2Server | http2.Http2SecureServer,
  limits: EdgeLimits,
): Set<http2.ServerHttp2Session> {
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    let openStreams = 0;
    // Until its first stream, a connection is on the (shorter) headers clock.
    let idleTimer: NodeJS.Timeout | undefined = setTimeout(
      () => session.destroy(),
      limits.headersTimeoutMs,
    ).unref();
    const stopIdleClock = () => {
      clearTimeout(idleTimer);
      idleTimer = undefined;
    };
    session.on("stream", (stream) => {
      openStreams++;
      stopIdleClock();
      const bodyTimer = setTimeout(() => {
        if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_CANCEL);
      }, limits.requestBodyTimeoutMs).unref();
      stream.once("end", () => clearTimeout(bodyTimer));
      // A call refused from its headers is answered while its body is still coming: once the
      // answer is out (gRPC trailers submitted), tell the peer to stop sending (RST_STREAM
      // NO_ERROR, RFC 9113 §8.1) instead of letting the stream hold its place until the body
      // timeout. (On 'finish' it would be too early: the trailers are not submitted yet.)
      stream.once("wantTrailers", () =>
        setImmediate(() => {
          if (!stream.readableEnded && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
        }),
      );
      stream.once("close", () => {
        clearTimeout(bodyTimer);
        if (--openStreams === 0 && !session.closed) {
          idleTimer = setTimeout(() => closeIdle(session), limits.idleTimeoutMs).unref();
        }
      });
    });
    session.once("close", () => {
      stopIdleClock();
      sessions.delete(session);
    });
  });
  return sessions;
}

/** GOAWAY, and the socket is cut if the peer still holds it open a little later. */
function closeIdle(session: http2.ServerHttp2Session): void {
  session.close();
  setTimeout(() => session.destroy(), IDLE_CLOSE_GRACE_MS).unref();
}

function listen(
  server: http.Server | http2.Http2Server | http2.Http2SecureServer,
  port: number,
  host: string,
) {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
