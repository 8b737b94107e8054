// The page a person reads: server-rendered HTML of a Summary, and the same renderer shipped to the
// browser (its source, inlined) so that the page refreshes itself from /api/v1/summary. `analyze
// --format html` writes the same sections into one self-contained file.
import { CATEGORIES } from '../classify/categories.js';
import type { Summary } from './summary.js';

/**
 * Every section of the page, from a Summary. Self-contained on purpose: it references nothing outside
 * its body, because its source is inlined into the page's script (Function.prototype.toString).
 */
/** Each category's colour, from its row. */
const CATEGORY_COLORS: Record<string, string> = Object.fromEntries(CATEGORIES.map((c) => [c.name, c.color]));

/** Said under the top remotes and workloads: what their dollars are. */
const BILL_LINES =
  'Each row’s dollars are the sum of the bill lines of its bytes: the transfer, and the processing of its path (NAT gateway, endpoints, Transit Gateway).';

export function renderSections(s: Summary): string {
  const esc = (v: unknown): string => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
  // enough significant digits that one host's cost shows as a number, not $0.00
  const money = (n: number | null | undefined): string => {
    if (n === null || n === undefined) return 'unpriced';
    if (n === 0) return '$0';
    if (n < 0) return '−' + money(-n);
    if (n >= 100) return '$' + Math.round(n).toLocaleString('en-US');
    if (n >= 1) return '$' + n.toFixed(2);
    return '$' + n.toPrecision(3);
  };
  const rate = (n: number | null | undefined): string => {
    if (n === null || n === undefined) return '–';
    const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i++;
    }
    return (n >= 100 || i === 0 ? Math.round(n).toString() : n.toPrecision(3)) + ' ' + units[i];
  };
  const gb = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 1 ? n.toFixed(2) : n === 0 ? '0' : n.toPrecision(2));
  const seconds = (n: number): string => (n < 120 ? `${Math.round(n)} s` : n < 7200 ? `${(n / 60).toFixed(1)} min` : `${(n / 3600).toFixed(1)} h`);
  const table = (cls: string, head: string[], rows: string[][], empty: string): string =>
    rows.length === 0
      ? `<p class="empty">${esc(empty)}</p>`
      : `<div class="scroll"><table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
          .join('')}</tbody></table></div>`;
  const live = s.mode === 'live';
  const rateUnit = live ? '$/hour now' : '$/hour';
  const windowText =
    s.window_seconds === null ? (live ? 'measuring…' : 'the capture has no timestamps: no rate') : live ? `over the last ${seconds(s.window_seconds)}` : `over the ${seconds(s.window_seconds)} of the capture`;

  const out: string[] = [];
  out.push(`<section class="headline">
<div class="figure"><div class="label">Dollars per hour${live ? ' now' : ''}</div><div class="value" id="dollars-per-hour" data-value="${s.dollars_per_hour ?? ''}">${money(s.dollars_per_hour)}</div><div class="unit">per hour</div></div>
<div class="figure"><div class="label">a month (730 h) at this rate</div><div class="value" id="projection" data-value="${s.projected_dollars_per_month ?? ''}">${money(s.projected_dollars_per_month)}</div><div class="unit">${s.mode === 'capture' && s.window_seconds !== null && s.window_seconds < 3600 ? `per month, from ${s.window_seconds < 120 ? `${s.window_seconds.toFixed(1)} s` : `${(s.window_seconds / 60).toFixed(1)} min`} of traffic` : 'per month'}</div></div>
<p class="note">${esc(windowText)} · data transfer by category alone: ${money(s.category_dollars_per_hour)}/hour; the rest is NAT gateway, endpoint and Transit Gateway processing and the legs to reach them · ${live ? 'since start' : 'in the capture'}: ${money(s.total_dollars)}</p>
<p class="note" id="not-seen">Not in these figures (no byte of this host shows them): NAT gateway and public IPv4 address hours, load balancer hours and capacity units, a load balancer's own egress to the internet, and what other hosts send through the same NAT gateway or endpoint.</p>
</section>`);

  out.push(
    `<section id="bill"><h2>Bill lines</h2><p class="hint">Usage types as Cost Explorer and the Cost and Usage Report name them; a byte on two lines is on both, as on the bill.</p>` +
      table(
        'bill',
        ['usage type', rateUnit, 'rate', 'path', '$/GB'],
        s.bill_lines.map((b) => [`<code>${esc(b.usage_type)}</code>`, money(b.dollars_per_hour), rate(b.bytes_per_second), esc(b.paths.join(', ')), b.price_per_gb === null ? '–' : esc(b.price_per_gb)]),
        'No bill line counted yet.',
      ) +
      `</section>`,
  );
  // what to do about it: the cheaper path for what costs, a month at this rate, net of its fixed fees
  const savings = s.savings ?? [];
  out.push(
    `<section id="savings"><h2>Cheaper paths</h2><p class="hint">What each change would save a month at ${live ? 'the last hour’s' : 'the capture’s'} rate, from the same bill lines as above, net of the new path’s fixed fees (endpoint hours × zones, a NAT gateway’s hours). Suggestions may overlap: each is what that change saves alone.</p>` +
      table(
        'savings',
        ['what to do', 'remote', 'now via', 'saves a month', 'fixed a month', 'net a month', 'break-even'],
        savings.slice(0, 10).map((x) => [
          esc(x.action) + (x.assumes ? `<br><span class="hint">${esc(x.assumes)}</span>` : ''),
          `<span class="name">${esc(x.remote)}</span>`,
          esc(x.current_path),
          money(x.gross_monthly_dollars),
          x.fixed_monthly_dollars === null ? 'unknown' : money(x.fixed_monthly_dollars),
          x.worth_it ? `<strong>${money(x.monthly_savings_dollars)}</strong>` : `${money(x.monthly_savings_dollars)} <span class="not-worth">not worth it at this rate</span>`,
          x.break_even_gb_per_month === null ? '–' : `${gb(x.break_even_gb_per_month)} GB/month`,
        ]),
        s.window_seconds === null ? 'No rate: no cheaper path can be priced.' : 'No cheaper path for what was counted: every costly byte already takes the cheapest path this VPC offers.',
      ) +
      `</section>`,
  );
  out.push(
    `<section id="categories"><h2>Categories</h2>` +
      table(
        'categories',
        ['category', 'direction', rateUnit, 'rate', 'GB total'],
        s.categories.map((c) => [esc(c.category), esc(c.direction), money(c.dollars_per_hour), rate(c.bytes_per_second), gb(c.gb)]),
        'No traffic counted yet.',
      ) +
      `</section>`,
  );
  out.push(
    `<section id="remotes"><h2>Top remotes by cost</h2>` +
      table(
        'remotes',
        ['remote', rateUnit, 'category', 'path', 'port', 'zone', 'rate'],
        s.remotes.map((r) => [`<span class="name">${esc(r.remote)}</span>`, money(r.dollars_per_hour), esc(r.category), esc(r.path || '–'), esc(r.port || '–'), esc(r.remote_az || '–'), rate(r.bytes_per_second)]),
        'No remote counted yet.',
      ) +
      `<p class="hint">${BILL_LINES}</p>` +
      (s.health.remotes_folded.remotes > 0 ? `<p class="hint">${s.health.remotes_folded.remotes.toLocaleString('en-US')} remotes folded into “other” (${gb(s.health.remotes_folded.bytes / 2 ** 30)} GB).</p>` : '') +
      `</section>`,
  );
  if (s.workloads.length > 0) {
    out.push(
      `<section id="workloads"><h2>Top workloads by cost</h2>` +
        table(
          'workloads',
          ['workload', 'namespace', 'kind', rateUnit, 'rate'],
          s.workloads.map((w) => [`<span class="name">${esc(w.workload || (w.kind === 'unknown' ? '(unattributed)' : '–'))}</span>`, esc(w.namespace || '–'), esc(w.kind), money(w.dollars_per_hour), rate(w.bytes_per_second)]),
          '',
        ) +
        `<p class="hint">${BILL_LINES}</p>` +
        `<p class="hint">The local owner of the bytes: a pod's Deployment, StatefulSet, DaemonSet, Job or CronJob, a systemd unit, else a process; unattributed: bytes of the host's own addresses whose socket could not be named (offline, without processes: all of them).</p>` +
        `</section>`,
    );
  }

  // the chart: stacked areas, one per series, in an inline SVG
  const c = s.chart;
  // each category's own colour wherever it is drawn (CATEGORY_COLORS: this module's, or the live page
  // script's copy, since this function also runs in the browser)
  const palette: Record<string, string> = { ...CATEGORY_COLORS, 'processing and path': '#8c564b' };
  const extra = ['#e377c2', '#bcbd22', '#393b79', '#637939'];
  const colorOf = (name: string, k: number): string => palette[name] ?? extra[k % extra.length];
  const W = 720;
  const H = 200;
  let svg = `<p class="empty">${live ? 'The chart fills as minutes pass.' : 'No timestamps to chart.'}</p>`;
  if (c.points.length >= 1) {
    const t0 = c.points[0].t - c.step_seconds;
    const t1 = c.points[c.points.length - 1].t;
    const span = Math.max(t1 - t0, 1e-9);
    let top = 0;
    for (const p of c.points) top = Math.max(top, p.values.reduce((a, b) => a + b, 0));
    if (top === 0) top = 1;
    const x = (t: number): number => ((t - t0) / span) * W;
    const y = (v: number): number => H - (v / top) * H;
    const paths: string[] = [];
    const base = c.points.map(() => 0);
    c.series.forEach((name, k) => {
      const upper = c.points.map((p, i) => base[i] + p.values[k]);
      if (upper.every((u, i) => u === base[i])) return;
      const pts: string[] = [];
      c.points.forEach((p, i) => pts.push(`${x(p.t - c.step_seconds).toFixed(1)},${y(upper[i]).toFixed(1)}`, `${x(p.t).toFixed(1)},${y(upper[i]).toFixed(1)}`));
      for (let i = c.points.length - 1; i >= 0; i--) {
        const p = c.points[i];
        pts.push(`${x(p.t).toFixed(1)},${y(base[i]).toFixed(1)}`, `${x(p.t - c.step_seconds).toFixed(1)},${y(base[i]).toFixed(1)}`);
      }
      paths.push(`<polygon points="${pts.join(' ')}" fill="${colorOf(name, k)}" fill-opacity="0.75"><title>${esc(name)}</title></polygon>`);
      upper.forEach((u, i) => (base[i] = u));
    });
    const topText = c.unit === 'dollars_per_hour' ? money(top) + '/h' : rate(top);
    const legend = c.series
      .map((name, k) => (c.points.some((p) => p.values[k] > 0) ? `<span class="key"><i style="background:${colorOf(name, k)}"></i>${esc(name)}</span>` : ''))
      .join('');
    const left = live ? `−${seconds(span)}` : '0 s';
    const right = live ? 'now' : seconds(span);
    svg = `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(c.title)}">${paths.join('')}<line x1="0" y1="${H}" x2="${W}" y2="${H}" stroke="#888"/></svg><div class="axis"><span>${esc(left)}</span><span>max ${esc(topText)}</span><span>${esc(right)}</span></div><div class="legend">${legend}</div>`;
  }
  out.push(`<section id="chart"><h2>${esc(c.title)}</h2>${svg}</section>`);

  const h = s.health;
  const capRows = h.capture.map((k) => [
    esc(k.interface),
    `<span class="state ${k.state}">${esc(k.state)}</span>`,
    k.captured_packets.toLocaleString('en-US'),
    k.coverage === null ? (k.filtered ? 'n/a (filtered)' : k.state === 'replay' || k.state === 'file' ? 'n/a' : '–') : `<span class="${k.coverage < 0.9 ? 'bad' : 'good'}">${(k.coverage * 100).toFixed(1)}%</span>`,
    k.dropped_packets.toLocaleString('en-US'),
  ]);
  const topoRows = h.topology.map((t) => [
    esc(t.source),
    t.entries === null ? '–' : t.entries.toLocaleString('en-US'),
    t.last_success === null ? '<span class="bad">never</span>' : esc(t.last_success.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
    t.errors === 0 ? '0' : `<span class="bad">${t.errors}</span>`,
    t.last_error === null ? '' : `<span class="bad">${esc(t.last_error)}</span>`,
  ]);
  const errors = Object.entries(h.decode_errors).filter(([, n]) => n > 0);
  out.push(
    `<section id="health"><h2>Health</h2>` +
      (h.flow_logs === undefined || capRows.length > 0 ? `<h3>Capture</h3>` + table('capture', ['interface', 'state', 'packets', 'coverage', 'dropped'], capRows, 'No capture yet.') : '') +
      (h.flow_logs === undefined
        ? ''
        : `<h3>Flow logs</h3><p class="hint" id="flow-logs">${h.flow_logs.records.toLocaleString('en-US')} records of ${h.flow_logs.objects.toLocaleString('en-US')} object(s)${h.flow_logs.url ? ` from ${esc(h.flow_logs.url)}` : ''}, each counted from the side of the interface that logged it; workloads are the interfaces' owners, remotes are addresses (flow logs carry no names).</p>` +
          (h.flow_logs.lag_seconds === undefined
            ? ''
            : `<p class="hint" id="flow-logs-lag">${h.flow_logs.lag_seconds === null ? 'No record counted yet.' : `The newest record ended <b>${seconds(h.flow_logs.lag_seconds)}</b> ago (${esc(h.flow_logs.newest_record!.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}).`} AWS delivers records 5–10 minutes after their interval: the rates above are of what arrived in the last ${seconds(s.window_seconds ?? 0)}, not of this minute's traffic.</p>`)) +
      `<h3>Topology sources</h3>` +
      table('topology', ['source', 'entries', 'last success (UTC)', 'errors', 'last error'], topoRows, 'No topology source.') +
      `<p class="hint">Region <b>${esc(s.region)}</b>; zones: ${h.zones.length === 0 ? 'none known' : h.zones.map((z) => `${esc(z.zone)}${z.zone_id && !z.zone.endsWith(`(${z.zone_id})`) ? ` <small>(${esc(z.zone_id)})</small>` : ''}`).join(', ')}.</p>` +
      `<p class="hint">Decode errors: ${errors.length === 0 ? '0' : errors.map(([k, n]) => `${esc(k)} ${n.toLocaleString('en-US')}`).join(', ')}.</p>` +
      h.problems.map((p) => `<p class="bad">${esc(p)}</p>`).join('') +
      `</section>`,
  );
  return out.join('\n');
}

const STYLE = `
:root{color-scheme:light;--fg:#1d2329;--muted:#5f6b76;--line:#e3e7eb;--accent:#0b5cad}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;background:#f6f8fa}
header{background:#232f3e;color:#fff;padding:.8rem 1.2rem}
header h1{font-size:1.15rem;margin:0}
header p{margin:.2rem 0 0;color:#c9d1d9;font-size:.85rem}
header a{color:#9ecbff}
main{max-width:1100px;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;margin:0 0 1rem}
h2{font-size:1.05rem;margin:.2rem 0 .6rem}
h3{font-size:.95rem;margin:.8rem 0 .4rem;color:var(--muted)}
.headline{display:flex;flex-wrap:wrap;gap:1rem 2.5rem;align-items:flex-end}
.figure .label{color:var(--muted);font-size:.85rem}
.figure .value{font-size:2.4rem;font-weight:650;color:var(--accent);line-height:1.1}
.figure .unit{color:var(--muted);font-size:.8rem}
.note,.hint{color:var(--muted);font-size:.85rem;margin:.4rem 0 0;flex-basis:100%}
.not-worth{color:var(--muted);font-size:.8rem;white-space:nowrap}
.savings td:first-child{white-space:normal;min-width:18rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:600}
td{font-variant-numeric:tabular-nums}
code{font-size:.85rem}
.name{font-weight:600}
.empty{color:var(--muted);font-style:italic}
.chart{width:100%;height:200px;display:block;background:#fbfcfd;border:1px solid var(--line)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;margin-top:.3rem}
.key i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px;vertical-align:-.05em}
.state{padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;font-weight:600}
.state.up{background:#dafbe1;color:#116329}.state.down{background:#ffebe9;color:#a40e26}
.state.replay,.state.file{background:#ddf4ff;color:#0a3069}
.bad{color:#a40e26;font-weight:600}.good{color:#116329}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:0 1rem 1.5rem}
@media (max-width:640px){main{padding:.5rem}section{padding:.6rem}.figure .value{font-size:1.9rem}th,td{padding:.25rem .4rem}td:first-child{white-space:normal;word-break:break-word;min-width:9rem}code{font-size:.78rem}}
`;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function shell(s: Summary, head: string, links: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(s.mode === 'live' ? 'az-traffic-exporter: data transfer cost now' : s.health.flow_logs && s.health.capture.length === 0 ? 'az-traffic-exporter: flow-log report' : 'az-traffic-exporter: capture report')}</title><link rel="icon" href="data:,">${head}
<style>${STYLE}</style></head><body data-refreshes="0">
<header><h1>az-traffic-exporter ${escapeHtml(s.version)}</h1><p>${escapeHtml(s.title)} · region ${escapeHtml(s.region)}${links}</p></header>
<main id="app">${body}</main>
<footer>Generated ${escapeHtml(s.generated_at)}. Prices are AWS list prices (first tier); see “Reading your bill” in the documentation (docs/billing.md).</footer>
${script}</body></html>
`;
}

/** The live page: the summary now, and a script that refreshes it every `refreshSeconds` from the JSON endpoint. */
export function livePage(s: Summary, o: { telemetryPath: string; summaryPath: string; nonce: string; refreshSeconds: number }): string {
  const links = ` · <a href="${escapeHtml(o.telemetryPath)}">metrics</a> · <a href="${escapeHtml(o.summaryPath)}">JSON</a> · <a href="/-/healthy">health</a> · <a href="/-/ready">readiness</a>`;
  // the same renderer as the server's, then a fetch every refreshSeconds; a failed fetch keeps the page
  const script = `<script nonce="${o.nonce}">
const CATEGORY_COLORS = ${JSON.stringify(CATEGORY_COLORS)};
const BILL_LINES = ${JSON.stringify(BILL_LINES)};
const renderSections = ${renderSections.toString()};
(() => {
  const app = document.getElementById('app');
  let n = 0;
  const refresh = async () => {
    try {
      const r = await fetch(${JSON.stringify(o.summaryPath)}, { cache: 'no-store', credentials: 'same-origin' });
      if (!r.ok) return;
      app.innerHTML = renderSections(await r.json());
      document.body.dataset.refreshes = String(++n);
    } catch (e) { /* the next refresh tries again */ }
  };
  setInterval(refresh, ${Math.round(o.refreshSeconds * 1000)});
})();
</script>`;
  return shell(s, '', links, renderSections(s), script);
}

/** analyze --format html: one self-contained file (inline CSS and SVG, no script, nothing fetched). */
export function reportPage(s: Summary): string {
  const csp = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`;
  return shell(s, csp, '', renderSections(s), '');
}
