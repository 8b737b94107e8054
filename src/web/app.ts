// HTTP: /metrics (flushes the pipeline then renders), a landing page, health and readiness.
import express, { type Express } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Prices } from '../classify/prices.js';
import { buildReport } from '../metrics/report.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import { VERSION } from '../version.js';

export interface WebOptions {
  metrics: ExporterMetrics;
  prices: Prices;
  telemetryPath: string;
  isReady: () => boolean;
  title?: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function createApp(o: WebOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get(o.telemetryPath, async (_req, res, next) => {
    try {
      const body = await o.metrics.render();
      res.type(o.metrics.registry.contentType).send(body);
    } catch (e) {
      next(e);
    }
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('OK\n');
  });
  app.get('/-/ready', (_req, res) => {
    const ready = o.isReady();
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'Ready\n' : 'Not ready\n');
  });
  app.get('/', async (_req, res, next) => {
    try {
      const r = await buildReport(o.metrics, o.prices);
      const rows = r.categories
        .slice(0, 10)
        .map(
          (c) =>
            `<tr><td>${escapeHtml(c.category)}</td><td>${c.direction}</td><td>${Math.round(c.bytes).toLocaleString('en-US')}</td><td>${c.cost_dollars === null ? 'unpriced' : '$' + c.cost_dollars.toFixed(4)}</td></tr>`,
        )
        .join('');
      res.type('html').send(`<!doctype html>
<html><head><meta charset="utf-8"><title>az-traffic-exporter</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>az-traffic-exporter ${escapeHtml(VERSION)}</h1>
<p>${escapeHtml(o.title ?? 'Data transfer by AWS billing category')}</p>
<ul><li><a href="${escapeHtml(o.telemetryPath)}">Metrics</a></li><li><a href="/-/healthy">Health</a></li><li><a href="/-/ready">Readiness</a></li></ul>
<h2>Top categories since start</h2>
<table><tr><th>category</th><th>direction</th><th>bytes</th><th>cost</th></tr>${rows}</table>
</body></html>`);
    } catch (e) {
      next(e);
    }
  });
  return app;
}

export interface Listening {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function listen(app: Express, host: string | undefined, port: number): Promise<Listening> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const shownHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    server,
    url: `http://${shownHost}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
