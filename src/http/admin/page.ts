import { handlerOf } from '../../work/define-handler.js';
import type { DeadLetter, EventRow, FlowSummary, QueueDepth, WriteSummary } from '../../ops/reports.js';

export interface DashboardData {
  queues: QueueDepth[];
  flows: FlowSummary[];
  writes: WriteSummary;
  apiCallsToday: number;
  throughput: { minute: Date; events: number }[];
  deadLetters: DeadLetter[];
  events: EventRow[];
  recordSearch: string;
  notice: string | undefined;
  csrfToken: string;
}

/** The admin dashboard as one server-rendered page: no scripts, no assets, every value escaped. */
export function renderDashboard(d: DashboardData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>forcehook admin</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f;max-width:1200px}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums} .err{color:#b00020} .notice{background:#e8f5e9;padding:.5rem 1rem}
.status-failed{color:#b00020} .status-done{color:#1b5e20} code{font-size:12px}
form.inline{display:inline} svg{background:#fafafa;border:1px solid #eee}
</style></head><body>
<h1>forcehook</h1>
${d.notice ? `<p class="notice" role="status">${esc(d.notice)}</p>` : ''}
<p>Salesforce API calls today: <strong id="api-calls">${d.apiCallsToday}</strong> ·
Salesforce writes waiting: ${d.writes.pending} · dead: ${d.writes.dead}</p>

<h2>Events received, last hour</h2>
${chart(d.throughput)}

<h2>Queues</h2>
<table id="queues"><thead><tr><th>handler</th><th>ready</th><th>active</th><th>retrying later</th><th>dead letters</th></tr></thead><tbody>
${d.queues.map((q) => `<tr><td>${esc(q.handler)}</td><td class="n">${q.ready}</td><td class="n">${q.active}</td><td class="n">${q.deferred}</td><td class="n">${q.deadLetters}</td></tr>`).join('\n')}
</tbody></table>

<h2>Flows</h2>
<table id="flows"><thead><tr><th>flow</th><th>events</th><th>failed</th><th>last event</th></tr></thead><tbody>
${d.flows.map((f) => `<tr><td>${esc(f.flow)}</td><td class="n">${f.events}</td><td class="n">${f.failed}</td><td>${time(f.lastEventAt)}</td></tr>`).join('\n') || '<tr><td colspan="4">No events yet.</td></tr>'}
</tbody></table>

<h2>Dead letters</h2>
<table id="dead-letters"><thead><tr><th>kind</th><th>handler</th><th>subject</th><th>reason</th><th>dead since</th><th></th></tr></thead><tbody>
${
  d.deadLetters
    .map(
      (l) => `<tr data-id="${esc(l.id)}"><td>${l.kind}</td><td>${esc(l.handler)}</td><td><code>${esc(l.subject)}</code></td><td class="err">${esc(l.error ?? '')}</td><td>${time(l.deadSince)}</td>
<td><form class="inline" method="post" action="/admin/dead-letters/${encodeURIComponent(l.id)}/retry"><input type="hidden" name="csrf" value="${esc(d.csrfToken)}"><button type="submit">Retry</button></form></td></tr>`,
    )
    .join('\n') || '<tr><td colspan="6">No dead letters.</td></tr>'
}
</tbody></table>

<h2>Recent events</h2>
<form method="get" action="/admin"><label>Record id <input name="record" value="${esc(d.recordSearch)}" size="20" placeholder="003…"></label> <button type="submit">Search</button></form>
<table id="events"><thead><tr><th>received</th><th>flow</th><th>record</th><th>operation</th><th>status</th><th>handlers</th><th>delivery id</th><th>error</th></tr></thead><tbody>
${
  d.events
    .map(
      (e) => `<tr><td>${time(e.receivedAt)}</td><td>${esc(e.flow)}</td><td><code>${esc(e.sobjectType)} ${esc(e.recordId)}</code></td><td>${esc(e.operation)}</td>
<td class="status-${esc(e.status)}">${esc(e.status)}</td><td>${Object.entries(e.outcomes).map(([q, o]) => `${esc(handlerOf(q))}: ${esc(o)}`).join('<br>')}</td><td><code>${esc(e.deliveryId)}</code></td><td class="err">${esc(e.lastError ?? '')}</td></tr>`,
    )
    .join('\n') || '<tr><td colspan="8">No events match.</td></tr>'
}
</tbody></table>
</body></html>`;
}

function chart(points: { minute: Date; events: number }[]): string {
  const width = 720;
  const height = 120;
  const max = Math.max(1, ...points.map((p) => p.events));
  const bar = width / Math.max(1, points.length);
  const bars = points
    .map((p, i) => {
      const h = Math.round((p.events / max) * (height - 20));
      return `<rect x="${(i * bar).toFixed(1)}" y="${height - h}" width="${Math.max(1, bar - 1).toFixed(1)}" height="${h}" fill="#1565c0"><title>${time(p.minute)}: ${p.events}</title></rect>`;
    })
    .join('');
  const total = points.reduce((sum, p) => sum + p.events, 0);
  return `<svg id="throughput" width="${width}" height="${height}" role="img" aria-label="${total} events in the last hour, at most ${max} a minute">${bars}<text x="4" y="14" font-size="11">max ${max}/min · ${total} in the hour</text></svg>`;
}

function time(value: Date | null): string {
  return value ? esc(value.toISOString().replace('T', ' ').slice(0, 19)) : '';
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
