import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';

export interface Listening {
  port: number;
  /** Stops accepting connections and resolves when in-flight requests have finished. */
  close(): Promise<void>;
}

export function listen(app: express.Express, port: number, options: { host?: string; requestTimeoutMs?: number } = {}): Promise<Listening> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  // Salesforce gives up on a request after 60 s. A body trickled in slower than requestTimeout is
  // answered 408 and its connection closed, so slow clients cannot hold connections open; the
  // check runs every second instead of Node's default 30.
  const server = createServer({ requestTimeout, headersTimeout: Math.min(10_000, requestTimeout), connectionsCheckingInterval: 1_000, keepAliveTimeout: 65_000 }, app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '0.0.0.0', () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
