import http from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  rps: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Requests per second across all connections, evenly spaced; unset: as fast as it goes. */
  rate?: number;
  method?: 'POST';
  /** Called for every request: return its headers and body (bodies must be unique to avoid dedupe). */
  next: () => { headers: Record<string, string>; body: string };
}

/**
 * Runs one endpoint under load and returns the figures the benchmark reports: closed-loop
 * (autocannon, every connection sends again as soon as it is answered) at full speed, open-loop
 * (paced) at a fixed rate.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  return options.rate ? paced(options, options.rate) : flatOut(options);
}

async function flatOut(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const { headers, body } = options.next();
          return { ...req, headers: { ...req.headers, ...headers }, body };
        },
      },
    ],
  });
  const ok = result['2xx'];
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: ok / result.duration,
  };
}

/**
 * Requests sent at evenly spaced times, as callouts from many Salesforce transactions arrive, on
 * at most `connections` kept-alive sockets. autocannon's rate limit sends each connection's share
 * of a second back to back at the start of the second, so its latencies measured a burst of 500,
 * not 500 a second. Latency counts from when a request was due, so a request the generator or a
 * busy socket sent late is counted late (no coordinated omission).
 */
async function paced(options: LoadOptions, rate: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const total = Math.max(1, Math.round(options.seconds * rate));
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const sent: Promise<void>[] = [];
  const send = (due: number): Promise<void> =>
    new Promise((resolve) => {
      const { headers, body } = options.next();
      const req = http.request(
        { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) ok++;
            else non2xx++;
            resolve();
          });
          // A connection dropped mid-response ends the response without 'end'.
          res.on('close', () => {
            if (res.complete) return;
            errors++;
            resolve();
          });
        },
      );
      // As autocannon's default: a request unanswered for 10 s is an error, not a hang.
      req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const started = performance.now();
  let i = 0;
  while (i < total) {
    const now = performance.now();
    // Everything due by now goes out; then sleep until the next one is due.
    while (i < total && started + i * interval <= now) sent.push(send(started + i++ * interval));
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, started + i * interval - performance.now())));
  }
  await Promise.all(sent);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => (latencies.length === 0 ? 0 : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]! * 10) / 10);
  return { requests: total, ok, non2xx, errors, seconds, p50: at(0.5), p99: at(0.99), rps: ok / seconds };
}
