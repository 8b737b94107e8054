// analyze's output formats, one entry each: what a format needs while the files are read and how it
// renders. A format is one entry here; the flag's choices are this list's names. Renderers load when used.
import type { ExporterMetrics } from '../metrics/registry.js';
import type { CaptureSummary, Report } from '../metrics/report.js';
import type { TimelineChart } from '../metrics/timeline.js';
import type { Topology } from '../topology/topology.js';

export interface FormatInput {
  files: string[];
  local: string[];
  topology: Topology;
  metrics: ExporterMetrics;
  capture: CaptureSummary;
  /** The bytes over the capture's time, where the format asked for them (timeline). */
  chart?: TimelineChart;
}

export interface OutputFormat {
  /** Bytes over the capture's time, in file order: the files are read in one thread, through a timeline. */
  timeline?: boolean;
  render(i: FormatInput): Promise<string>;
}

async function report(i: FormatInput): Promise<Report> {
  const { buildReport } = await import('../metrics/report.js');
  return buildReport(i.metrics, i.capture);
}

export const FORMATS = {
  table: {
    async render(i) {
      const { renderTable } = await import('../metrics/report.js');
      return renderTable(await report(i));
    },
  },
  json: {
    async render(i) {
      return JSON.stringify({ files: i.files, local_ips: i.local, region: i.topology.region, ...(await report(i)) }, null, 2) + '\n';
    },
  },
  // exactly the exposition a serve would show after the same packets
  prometheus: {
    render: (i) => i.metrics.render(),
  },
  // one self-contained page: inline CSS and SVG, nothing fetched
  html: {
    timeline: true,
    async render(i) {
      const r = await report(i);
      const { captureSummary } = await import('../web/summary.js');
      const { reportPage } = await import('../web/page.js');
      const chart = { title: 'Bytes per second over the capture, by category', unit: 'bytes_per_second' as const, ...i.chart! };
      return reportPage(captureSummary({ ...r, capture: r.capture! }, i.topology, chart, i.files));
    },
  },
} satisfies Record<string, OutputFormat>;

export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];
