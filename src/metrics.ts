import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from './db/pool.js';
import { queueDepths } from './db/reports.js';
import type { Handler } from './work/define-handler.js';
import type { ApiCallCounter } from './writeback/api-calls.js';

/**
 * Prometheus metrics of one process, served at /metrics. Queue depths and API calls are read when
 * scraped; the rest is counted as it happens.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'forcehook_http_requests_total',
    help: 'HTTP requests by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  readonly ingestSeconds = new Histogram({
    name: 'forcehook_ingest_duration_seconds',
    help: 'Time from request to acknowledgement (or refusal) on the ingress routes.',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'forcehook_events_total',
    help: 'Events received, by source and result (accepted, duplicate).',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });

  readonly refused = new Counter({
    name: 'forcehook_requests_refused_total',
    help: 'Ingress requests refused or failed, by source and error code.',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  readonly handlerSeconds = new Histogram({
    name: 'forcehook_handler_duration_seconds',
    help: 'Time a handler took for one batch.',
    labelNames: ['handler'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  readonly handlerEvents = new Counter({
    name: 'forcehook_handler_events_total',
    help: 'Events settled by handlers, by outcome (done, skipped, retrying, failed).',
    labelNames: ['handler', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Reads queue depths from pg-boss and the API call count on every scrape. */
  observe(db: Queryable, handlers: readonly Handler[], apiCalls: ApiCallCounter): void {
    new Gauge({
      name: 'forcehook_queue_jobs',
      help: "Jobs of each handler's queue by state: ready, active, deferred (waiting out a retry delay), dead (dead-letter queue).",
      labelNames: ['handler', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const q of await queueDepths(db, handlers)) {
          this.set({ handler: q.handler, state: 'ready' }, q.ready);
          this.set({ handler: q.handler, state: 'active' }, q.active);
          this.set({ handler: q.handler, state: 'deferred' }, q.deferred);
          this.set({ handler: q.handler, state: 'dead' }, q.deadLetters);
        }
      },
    });
    new Gauge({
      name: 'forcehook_salesforce_api_calls',
      help: 'Salesforce REST API calls made by this process since it started.',
      registers: [this.registry],
      collect() {
        this.set(apiCalls.count);
      },
    });
  }
}
