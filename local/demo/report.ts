import type { DemoSummary } from './summary';
import { humanSpan, storyTime, type DemoEvent, type KeySpan, type Timeline } from './timeline';

/**
 * The demo's HTML report: one self-contained file (inline CSS and SVG, no script but the embedded data, no external
 * asset) with the verdict, a timeline of every provider key's life per secret, the request rate on the same time
 * axis, and the event list. The raw timeline is embedded as JSON (`<script type="application/json" id="timeline">`)
 * for tools. Holds key ids and fingerprints only.
 */

const WIDTH = 1160;
const LEFT = 210;
const RIGHT = 20;
const LANE = 40;
const BAR = 13;
const RATE_HEIGHT = 150;
const PHASE_COLOURS = {
  pending: '#b9c2cc',
  current: '#2e9d5b',
  grace: '#e6a23c',
  held: '#d35400',
  disabled: '#8e8e8e',
  emergency: '#c0392b',
} as const;
const EVENT_COLOURS: Partial<Record<DemoEvent['kind'], string>> = {
  'step-failed': '#c0392b',
  alarm: '#c0392b',
  outage: '#e67e22',
  recovered: '#2e9d5b',
  emergency: '#8e44ad',
  'leak-refused': '#8e44ad',
  held: '#d35400',
  straggler: '#d35400',
  replica: '#2874a6',
};

/** Escapes text for HTML and SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Segments of one key's life: [from, to, phase]. */
function phases(span: KeySpan, start: number, end: number): Array<[number, number, keyof typeof PHASE_COLOURS]> {
  const out: Array<[number, number, keyof typeof PHASE_COLOURS]> = [];
  const stop = span.revokedAt ?? end;
  const push = (from: number | undefined, to: number | undefined, phase: keyof typeof PHASE_COLOURS): void => {
    if (from === undefined) return;
    const a = Math.max(from, start);
    const b = Math.min(to ?? stop, stop, end);
    if (b > a) out.push([a, b, phase]);
  };
  push(span.issuedAt, span.currentAt ?? stop, 'pending');
  push(span.currentAt, span.replacedAt, 'current');
  const afterGrace = span.heldAt ?? span.disabledAt;
  push(span.replacedAt, afterGrace, span.emergency ? 'emergency' : 'grace');
  push(span.heldAt, span.disabledAt, 'held');
  push(span.disabledAt, undefined, 'disabled');
  return out;
}

/** The timeline and rate chart as one inline SVG. */
export function renderSvg(timeline: Timeline): string {
  const { start } = timeline;
  const end = Math.max(timeline.end, start + 1);
  const x = (t: number): number => LEFT + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * (WIDTH - LEFT - RIGHT);
  const lanesTop = 30;
  const rateTop = lanesTop + timeline.keys.length * LANE + 40;
  const height = rateTop + RATE_HEIGHT + 40;
  const parts: string[] = [];

  // Day grid.
  const days = Math.ceil((end - start) / 86_400_000);
  const step = days > 20 ? 5 : 1;
  for (let d = 0; d <= days && start + d * 86_400_000 <= end; d += step) {
    const px = x(start + d * 86_400_000);
    parts.push(`<line x1="${px}" y1="${lanesTop - 8}" x2="${px}" y2="${rateTop + RATE_HEIGHT}" class="grid"/>`);
    parts.push(`<text x="${px}" y="${lanesTop - 12}" class="tick">day ${d}</text>`);
  }

  // The emergency window.
  if (timeline.emergency) {
    const a = x(timeline.emergency.start);
    const b = Math.max(a + 3, x(timeline.emergency.end ?? timeline.emergency.start));
    parts.push(`<rect x="${a}" y="${lanesTop - 8}" width="${b - a}" height="${rateTop + RATE_HEIGHT - lanesTop + 8}" class="emergency"><title>emergency rotation of ${escapeHtml(timeline.emergency.secretName)}</title></rect>`);
  }

  // One lane per secret, keys alternating between two rows so overlapping lives (grace periods) stay visible.
  timeline.keys.forEach((name, lane) => {
    const top = lanesTop + lane * LANE;
    parts.push(`<text x="${LEFT - 8}" y="${top + LANE / 2 + 4}" class="lane">${escapeHtml(name)}</text>`);
    parts.push(`<line x1="${LEFT}" y1="${top + LANE - 2}" x2="${WIDTH - RIGHT}" y2="${top + LANE - 2}" class="sep"/>`);
    timeline.spans
      .filter((s) => s.secretName === name)
      .forEach((span, i) => {
        const y = top + 4 + (i % 2) * (BAR + 3);
        for (const [a, b, phase] of phases(span, start, end)) {
          const title = `${span.keyId} ${span.fingerprint ?? ''} ${phase}: ${storyTime(a, start)} to ${storyTime(b, start)} (${humanSpan(b - a)})`;
          parts.push(
            `<rect x="${x(a).toFixed(1)}" y="${y}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="${BAR}" fill="${PHASE_COLOURS[phase]}"><title>${escapeHtml(title)}</title></rect>`,
          );
          if (phase === 'current' && x(b) - x(a) > 70 && span.fingerprint) {
            parts.push(`<text x="${(x(a) + 4).toFixed(1)}" y="${y + BAR - 3}" class="fp">${escapeHtml(span.fingerprint)}</text>`);
          }
        }
        if (span.revokedAt !== undefined && span.revokedAt <= end && span.revokedAt >= start) {
          const px = x(span.revokedAt);
          parts.push(`<path d="M${px - 4} ${y} l8 ${BAR} M${px + 4} ${y} l-8 ${BAR}" class="revoked"><title>${escapeHtml(`${span.keyId} revoked ${storyTime(span.revokedAt, start)}`)}</title></path>`);
        }
      });
  });

  // Markers of the story's events on the lanes.
  for (const e of timeline.events) {
    const colour = EVENT_COLOURS[e.kind];
    const lane = e.secretName ? timeline.keys.indexOf(e.secretName) : -1;
    if (!colour || lane < 0 || e.t < start) continue;
    const cy = lanesTop + lane * LANE + LANE - 6;
    parts.push(`<circle cx="${x(e.t).toFixed(1)}" cy="${cy}" r="3.5" fill="${colour}"><title>${escapeHtml(`${storyTime(e.t, start)} ${e.text}`)}</title></circle>`);
  }

  // Request rate (requests per real second) on the same demo-time axis.
  // Averaged over about a real second: shorter samples mostly show the sampler's jitter.
  const rates: Array<{ t: number; ok: number; failed: number }> = [];
  let from = 0;
  let bucket = { ok: 0, failed: 0 };
  for (const s of timeline.samples) {
    bucket = { ok: bucket.ok + s.ok, failed: bucket.failed + s.failed };
    if (s.real - from < 1000) continue;
    const seconds = (s.real - from) / 1000;
    rates.push({ t: s.t, ok: bucket.ok / seconds, failed: bucket.failed / seconds });
    from = s.real;
    bucket = { ok: 0, failed: 0 };
  }
  // Headroom above the peak for the labels of the turning points.
  const max = Math.max(1, ...rates.map((r) => r.ok + r.failed)) * 1.5;
  const y = (v: number): number => rateTop + RATE_HEIGHT - (v / max) * RATE_HEIGHT;
  parts.push(`<text x="${LEFT - 8}" y="${rateTop + 12}" class="lane">requests/s (real)</text>`);
  parts.push(`<text x="${LEFT - 8}" y="${rateTop + 28}" class="tick2">max ${Math.round(max / 1.5)}</text>`);
  parts.push(`<line x1="${LEFT}" y1="${rateTop + RATE_HEIGHT}" x2="${WIDTH - RIGHT}" y2="${rateTop + RATE_HEIGHT}" class="axis"/>`);
  if (rates.length > 0) {
    const line = rates.map((r) => `${x(r.t).toFixed(1)},${y(r.ok).toFixed(1)}`).join(' ');
    const first = rates[0] as { t: number };
    const last = rates[rates.length - 1] as { t: number };
    parts.push(`<polygon points="${x(first.t).toFixed(1)},${y(0)} ${line} ${x(last.t).toFixed(1)},${y(0)}" class="ok"/>`);
    parts.push(`<polyline points="${line}" class="okline"/>`);
    for (const r of rates.filter((q) => q.failed > 0)) {
      parts.push(`<rect x="${(x(r.t) - 2).toFixed(1)}" y="${y(r.failed).toFixed(1)}" width="4" height="${(y(0) - y(r.failed)).toFixed(1)}" class="failed"><title>${escapeHtml(`${storyTime(r.t, start)}: ${r.failed.toFixed(1)} failed/s`)}</title></rect>`);
    }
  }
  // The story's turning points, labelled across the rate chart.
  const marks: Array<[DemoEvent['kind'], string]> = [
    ['held', 'revocation held (straggler)'],
    ['outage', 'provider outage'],
    ['recovered', 'rotation recovered'],
    ['emergency', 'leak: emergency rotation'],
    ['leak-refused', 'leaked key refused'],
    ['replica', 'replica region'],
  ];
  marks.forEach(([kind, label], i) => {
    const e = timeline.events.find((ev) => ev.kind === kind && ev.t >= start);
    if (!e) return;
    const px = x(e.t).toFixed(1);
    const ly = rateTop + 14 + (i % 3) * 14;
    parts.push(`<line x1="${px}" y1="${rateTop}" x2="${px}" y2="${rateTop + RATE_HEIGHT}" stroke="${EVENT_COLOURS[kind] ?? '#444'}" class="mark"/>`);
    parts.push(`<text x="${px}" y="${ly}" class="note" fill="${EVENT_COLOURS[kind] ?? '#444'}">${escapeHtml(label)}</text>`);
  });
  parts.push(`<text x="${WIDTH / 2}" y="${height - 8}" class="tick">demo time (${Math.round(timeline.speed)}x real time)</text>`);

  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="key lifetimes and request rate">
<style>
.grid{stroke:#e3e6ea;stroke-width:1}.sep{stroke:#f0f2f4}.axis{stroke:#888}.tick{font:11px sans-serif;fill:#666;text-anchor:middle}
.tick2{font:11px sans-serif;fill:#888;text-anchor:end}.lane{font:12px sans-serif;fill:#222;text-anchor:end}
.fp{font:10px monospace;fill:#fff}.revoked{stroke:#222;stroke-width:2}.emergency{fill:#8e44ad;opacity:.12}
.mark{stroke-dasharray:3 3;stroke-width:1}.note{font:11px sans-serif;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:3px}
.ok{fill:#2e9d5b;opacity:.18}.okline{fill:none;stroke:#2e9d5b;stroke-width:1.5}.failed{fill:#c0392b}
</style>
${parts.join('\n')}
</svg>`;
}

function legend(): string {
  const items: Array<[string, string]> = [
    [PHASE_COLOURS.pending, 'issued, not yet current'],
    [PHASE_COLOURS.current, 'current (AWSCURRENT)'],
    [PHASE_COLOURS.grace, 'grace period (old key still valid)'],
    [PHASE_COLOURS.held, 'revocation held: still in use'],
    [PHASE_COLOURS.disabled, 'disabled (observation window)'],
    [PHASE_COLOURS.emergency, 'leaked key, revoked at once'],
  ];
  return `${items.map(([c, t]) => `<span class="lg"><i style="background:${c}"></i>${escapeHtml(t)}</span>`).join(' ')} <span class="lg">✕ revoked</span> <span class="lg">● event (hover)</span>`;
}

/** The whole report page. */
export function renderReport(timeline: Timeline, summary: DemoSummary): string {
  const rows = summary.text
    .split('\n')
    .filter((l) => l.startsWith('  ') && !/^\s+(PASS|FAIL|exit)/.test(l))
    .map((l) => {
      const m = /^\s+(\S.*?)\s{2,}(.*)$/.exec(l);
      return m ? `<tr><th>${escapeHtml(m[1] ?? '')}</th><td>${escapeHtml(m[2] ?? '')}</td></tr>` : '';
    })
    .join('\n');
  const checks = summary.checks
    .map((c) => `<li class="${c.passed ? 'pass' : 'fail'}">${c.passed ? 'PASS' : 'FAIL'} ${escapeHtml(c.name)} <small>(${escapeHtml(c.detail)})</small></li>`)
    .join('\n');
  const events = timeline.events
    .map((e) => `<tr class="${e.kind}"><td>${escapeHtml(storyTime(e.t, timeline.start))}</td><td>${(e.real / 1000).toFixed(1)} s</td><td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.text)}</td></tr>`)
    .join('\n');
  // `<` escaped so the JSON cannot close its script element.
  const data = JSON.stringify(timeline).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>keyrelay demo report</title>
<style>
body{font:14px/1.45 -apple-system,Segoe UI,Roboto,sans-serif;color:#222;margin:24px auto;max-width:${WIDTH + 40}px;padding:0 20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.verdict{font-size:16px;font-weight:600}
.pass{color:#1e7d45}.fail{color:#c0392b}ul{margin:4px 0;padding-left:20px}table{border-collapse:collapse}
.summary th{text-align:left;padding:2px 16px 2px 0;font-weight:600;white-space:nowrap}.summary td{padding:2px 0}
.events td{padding:1px 10px 1px 0;vertical-align:top;font-size:12px}.events td:nth-child(-n+3){white-space:nowrap;color:#666}
.events tr.alarm td,.events tr.step-failed td{color:#c0392b}.events tr.emergency td,.events tr.leak-refused td{color:#8e44ad}
.lg{font-size:12px;margin-right:12px;white-space:nowrap}.lg i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.cols{display:flex;gap:40px;flex-wrap:wrap}
</style></head>
<body>
<h1>keyrelay demo report</h1>
<div class="verdict ${summary.passed ? 'pass' : 'fail'}">${summary.passed ? 'PASSED: zero-downtime rotation under load' : 'FAILED'} (exit ${summary.passed ? 0 : 1})</div>
<div class="cols">
<table class="summary">${rows}</table>
<ul>${checks}</ul>
</div>
<h2>Key lifetimes and request rate</h2>
<div>${legend()}</div>
${renderSvg(timeline)}
<h2>Events</h2>
<table class="events"><tr><td>demo time</td><td>real</td><td>kind</td><td>what</td></tr>
${events}
</table>
<script type="application/json" id="timeline">${data}</script>
</body></html>
`;
}
