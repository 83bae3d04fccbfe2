import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';

export interface Listening {
  port: number;
  /**
   * Stops accepting connections and resolves when in-flight requests have finished: from now on
   * every response says `Connection: close`, idle keep-alive connections are closed at once and
   * busy ones after their response; whatever is still open after `drainMs` is cut.
   */
  close(): Promise<void>;
}

export interface ListenOptions {
  host?: string;
  requestTimeoutMs?: number;
  /** How long close() waits for busy connections before cutting them. @default 10_000 (Heroku kills 30 s after SIGTERM) */
  drainMs?: number;
}

export function listen(app: express.Express, port: number, options: ListenOptions = {}): Promise<Listening> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const drainMs = options.drainMs ?? 10_000;
  // Salesforce gives up on a request after 60 s. A body trickled in slower than requestTimeout is
  // answered 408 and its connection closed, so slow clients cannot hold connections open; the
  // check runs every second instead of Node's default 30.
  const server = createServer({ requestTimeout, headersTimeout: Math.min(10_000, requestTimeout), connectionsCheckingInterval: 1_000, keepAliveTimeout: 65_000 }, app);
  let stopping = false;
  const inFlight = new Map<ServerResponse, IncomingMessage>();
  // Before the app sees the request, so even a response written synchronously is covered.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(res, req);
    res.once('close', () => inFlight.delete(res));
    closeConnectionWhen(req, res, () => stopping);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '0.0.0.0', () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            stopping = true;
            const cut = setTimeout(() => server.closeAllConnections(), drainMs);
            server.close(() => {
              clearTimeout(cut);
              done();
            });
            server.closeIdleConnections();
            // A response whose headers already promised keep-alive: end its connection once it is sent.
            for (const [res, req] of inFlight) {
              if (res.headersSent) res.once('finish', () => req.socket.end());
            }
          }),
      });
    });
  });
}

/**
 * Answers `Connection: close` when the server is stopping, or when the response goes out before the
 * request body was read to its end (a refusal): Node then destroys the socket once the response is
 * flushed, instead of reading and discarding the rest of the body until REQUEST_TIMEOUT_MS, so a
 * refused sender cannot keep streaming bytes into us.
 */
function closeConnectionWhen(req: IncomingMessage, res: ServerResponse, stopping: () => boolean): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent && (stopping() || bodyUnread(req))) this.setHeader('Connection', 'close');
    return Reflect.apply(writeHead, this, args) as ServerResponse;
  } as ServerResponse['writeHead'];
}

function bodyUnread(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
