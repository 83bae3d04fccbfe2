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
  /** Requests per second across all connections; unset: as fast as it goes. */
  rate?: number;
  method?: 'POST';
  /** Called for every request: return its headers and body (bodies must be unique to avoid dedupe). */
  next: () => { headers: Record<string, string>; body: string };
}

/** Runs autocannon against one endpoint and returns the figures the benchmark reports. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
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
