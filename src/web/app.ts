// HTTP: /metrics (flushes the pipeline then renders), the live page (/) and its JSON (/api/v1/summary), health and readiness; behind the
// exporter-toolkit web configuration (TLS, client certificates, basic auth, headers) when one is given.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { log, type Logger } from '../config/log.js';
import { randomBytes } from 'node:crypto';
import type { ExporterMetrics } from '../metrics/registry.js';
import { livePage } from './page.js';
import { CostHistory } from './summary.js';
import { ConfigError } from '../config/errors.js';
import { BasicAuth, fileStamp, type WebConfig } from './security.js';

export interface WebOptions {
  metrics: ExporterMetrics;
  telemetryPath: string;
  isReady: () => boolean;
  title?: string;
  /** The demo replays a file: its page says so instead of comparing with kernel counters. */
  captureKind?: 'live' | 'replay';
  /** Snapshots for the page's rates and chart; made (and started) here when not given. */
  history?: CostHistory;
}

/**
 * Scrapes that arrive together share one flush and render: a render in progress is awaited, and its
 * text serves every scrape for SHARE_MS after it. Fifty concurrent scrapers then cost one render,
 * not fifty queued ones; what they get is at most SHARE_MS old (counters still only grow).
 */
export class Exposition {
  static readonly SHARE_MS = 250;
  /** The last render as sent: encoded once per render, not once per scrape (50 scrapers of 80 KiB each). */
  private last: Rendered = { body: Buffer.alloc(0) };
  private at = -Infinity;
  private pending: Promise<Rendered> | undefined;

  /** `now`: milliseconds of a monotonic clock (a test's own, so its windows do not depend on load). */
  constructor(
    private readonly render: () => Promise<string>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private rendered(): Promise<Rendered> {
    if (this.now() - this.at < Exposition.SHARE_MS) return Promise.resolve(this.last);
    this.pending ??= this.render()
      .then((t) => {
        this.last = { body: Buffer.from(t, 'utf8') };
        this.at = this.now();
        return this.last;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  async get(): Promise<string> {
    return (await this.rendered()).body.toString('utf8');
  }

  /** The same, encoded. */
  async bytes(): Promise<Buffer> {
    return (await this.rendered()).body;
  }

  /**
   * The same, gzip-compressed (Prometheus asks for it): once per render, on zlib's threads, and shared
   * like the text. 78 KiB of series become ~7 KiB to send to every scraper.
   */
  async gzip(): Promise<Buffer> {
    const r = await this.rendered();
    if (r.gzipped === undefined) {
      const z = (r.gzipped = gzipAsync(r.body));
      // a failed compression is not kept either
      z.catch(() => {
        if (r.gzipped === z) r.gzipped = undefined;
      });
    }
    return r.gzipped;
  }
}

/** One render: its bytes, and their gzip once a scraper asked for it. */
interface Rendered {
  body: Buffer;
  gzipped?: Promise<Buffer>;
}

const gzipAsync = promisify(gzip);

/** The JSON behind the page, documented for scripts (docs/serve.md, "The live page"). */
export const SUMMARY_PATH = '/api/v1/summary';

// the page needs inline styles, its one script (by nonce) and fetches of its own JSON: nothing else, and
// nothing from anywhere but the exporter
const pageCsp = (nonce: string): string =>
  `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** The web configuration in force, reloadable; its TLS and users apply to every request. */
export class WebSecurity {
  readonly auth: BasicAuth;
  private stamp: string;
  private lastCheck = 0;

  constructor(
    readonly path: string | undefined,
    public config: WebConfig,
    private readonly log?: Logger,
    /** Reads the file again (the schema library is loaded only when there is a file). */
    private readonly read: (path: string) => WebConfig = () => config,
  ) {
    this.auth = new BasicAuth(config.users);
    this.stamp = path ? fileStamp(path) : '';
  }

  /** No file: plain HTTP, no users, no extra headers. */
  static none(log?: Logger): WebSecurity {
    return new WebSecurity(undefined, { users: new Map(), headers: [] }, log);
  }

  static async load(path: string | undefined, log?: Logger): Promise<WebSecurity> {
    if (!path) return WebSecurity.none(log);
    const { loadWebConfig } = await import('./web-config.js');
    return new WebSecurity(path, loadWebConfig(path), log, loadWebConfig);
  }

  /** Re-read the file; a bad one keeps the last good configuration. Returns whether it changed. */
  reload(server?: Server | TlsServer): boolean {
    if (!this.path) return false;
    this.stamp = fileStamp(this.path);
    const keepLastGood = (e: unknown): false => {
      this.log?.error(`web configuration not reloaded, the last good one stays: ${(e as Error).message}`, { file: this.path });
      return false;
    };
    let next: WebConfig;
    try {
      next = this.read(this.path);
    } catch (e) {
      return keepLastGood(e);
    }
    if (Boolean(next.tls) !== Boolean(this.config.tls)) {
      this.log?.warn('web configuration: turning TLS on or off needs a restart; the rest is reloaded', { file: this.path });
      next = { ...next, tls: this.config.tls };
    } else if (next.tls && server && 'setSecureContext' in server) {
      if (next.tls.clientAuth !== 'NoClientCert' && this.config.tls?.clientAuth === 'NoClientCert') {
        this.log?.warn('web configuration: asking for client certificates needs a restart (the server was started without)', { file: this.path });
      }
      try {
        server.setSecureContext(next.tls.context);
      } catch (e) {
        return keepLastGood(e);
      }
    }
    this.config = next;
    this.auth.setUsers(next.users);
    this.log?.info('web configuration reloaded', { file: this.path, tls: Boolean(next.tls), users: next.users.size });
    return true;
  }

  /** Reload when the file changed; looked at no more than once a second, on requests. */
  reloadIfChanged(server?: Server | TlsServer): void {
    if (!this.path) return;
    const now = Date.now();
    if (now - this.lastCheck < 1000) return;
    this.lastCheck = now;
    if (fileStamp(this.path) !== this.stamp) this.reload(server);
  }

  /** Whether the client's certificate satisfies client_auth_type (the TLS layer checks what it can). */
  clientCertAllowed(req: Request): boolean {
    const tls = this.config.tls;
    if (!tls) return true;
    const sock = req.socket as TLSSocket;
    const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
    const given = cert !== undefined && Object.keys(cert).length > 0;
    switch (tls.clientAuth) {
      case 'NoClientCert':
      case 'RequestClientCert':
        return true;
      case 'RequireAnyClientCert':
        return given;
      case 'VerifyClientCertIfGiven':
        return !given || sock.authorized;
      case 'RequireAndVerifyClientCert': {
        if (!given || !sock.authorized) return false;
        const sans = tls.allowedSans;
        if (!sans || sans.length === 0) return true;
        const names = (cert.subjectaltname ?? '').split(/,\s*/).map((x) => x.replace(/^[A-Za-z ]+:/, ''));
        return names.some((n) => sans.includes(n));
      }
    }
  }
}

export function createApp(o: WebOptions, security: WebSecurity = WebSecurity.none(), server?: () => Server | TlsServer | undefined): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req: Request, res: Response, next: NextFunction) => {
    security.reloadIfChanged(server?.());
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    for (const [name, value] of security.config.headers) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).setHeader('Allow', 'GET, HEAD');
      res.type('text/plain').send('Method Not Allowed\n');
      return;
    }
    if (!security.clientCertAllowed(req)) {
      res.status(403).type('text/plain').send('client certificate required or not trusted\n');
      return;
    }
    // health and readiness answer without a password (they tell nothing but up or not), so that a
    // container HEALTHCHECK or a kubelet probe needs no secret; TLS client certificates still apply
    if (!security.auth.enabled || req.path === '/-/healthy' || req.path === '/-/ready') return next();
    security.auth.check(req.headers.authorization).then(
      (result) => {
        if (result === 'ok') return next();
        if (result === 'busy') {
          // too many password checks waiting (a flood of wrong ones): say so at once, check nothing
          res.status(429).setHeader('Retry-After', '1');
          res.type('text/plain').send('Too Many Requests: password checks are busy\n');
          return;
        }
        res.status(401).setHeader('WWW-Authenticate', 'Basic realm="az-traffic-exporter", charset="UTF-8"');
        res.type('text/plain').send('Unauthorized\n');
      },
      (e: unknown) => next(e),
    );
  });
  const exposition = new Exposition(() => o.metrics.render());
  app.get(o.telemetryPath, async (req, res, next) => {
    try {
      // gzip when the scraper takes it (Prometheus does), as promhttp does; identity otherwise
      const gzipped = req.acceptsEncodings('gzip', 'identity') === 'gzip';
      const body = gzipped ? await exposition.gzip() : await exposition.bytes();
      res.status(200).set('Content-Type', o.metrics.registry.contentType).set('Vary', 'Accept-Encoding');
      if (gzipped) res.set('Content-Encoding', 'gzip');
      // the shared bytes as they are: no per-scrape encoding or ETag hashing of the whole body
      res.set('Content-Length', String(body.length)).end(body);
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
  // snapshots from the start, so that the page's rate and chart cover the time before its first visit
  const history = o.history ?? new CostHistory(o.metrics, { title: o.title ?? 'Data transfer cost of this host', captureKind: o.captureKind ?? 'live', topology: () => o.metrics.topologyInForce });
  // a first snapshot that fails must not be an unhandled rejection: summary() snapshots anew anyway
  const started = o.history ? Promise.resolve() : history.start().catch(() => undefined);
  const summary = async () => {
    await started;
    return history.summary();
  };
  app.get(SUMMARY_PATH, async (_req, res, next) => {
    try {
      res.json(await summary());
    } catch (e) {
      next(e);
    }
  });
  app.get('/', async (req, res, next) => {
    try {
      const asked = Number(req.query.refresh);
      const refreshSeconds = Number.isFinite(asked) && asked >= 1 && asked <= 300 ? asked : 10;
      const nonce = randomBytes(16).toString('base64');
      res.setHeader('Content-Security-Policy', pageCsp(nonce));
      res.type('html').send(livePage(await summary(), { telemetryPath: o.telemetryPath, summaryPath: SUMMARY_PATH, nonce, refreshSeconds }));
    } catch (e) {
      next(e);
    }
  });
  // whatever fails inside a request: logged here, and the client told no more than that (express's own
  // handler would send the stack)
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    log.error(`request failed: ${err instanceof Error ? err.message : String(err)}`);
    if (res.headersSent) return next(err);
    res.status(500).type('text/plain').send('Internal Server Error\n');
  });
  return app;
}

export interface Listening {
  server: Server | TlsServer;
  url: string;
  /** Re-read --web.config.file (SIGHUP). */
  reload(): void;
  close(): Promise<void>;
}

/** Serve the app over HTTP, or HTTPS when the web configuration has TLS; listen errors are one line. */
export async function listen(app: Express, host: string | undefined, port: number, security?: WebSecurity): Promise<Listening> {
  const tls = security?.config.tls;
  const server = tls
    ? createTlsServer({ ...tls.context, requestCert: tls.clientAuth !== 'NoClientCert', rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert' }, app)
    : createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = `--web.listen-address ${host ?? ''}:${port}`;
      if (e.code === 'EADDRINUSE') reject(new ConfigError(`${where}: address already in use`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new ConfigError(`${where}: no such address on this host`));
      else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') reject(new ConfigError(`${where}: cannot resolve host ${JSON.stringify(host)}`));
      else if (e.code === 'EACCES') reject(new ConfigError(`${where}: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)`));
      else reject(e);
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  // a connection that fails its TLS handshake must not crash the process
  server.on('tlsClientError', () => {});
  const a = server.address() as AddressInfo;
  const shownHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${shownHost}:${a.port}`,
    reload: () => security?.reload(server),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The app served on `addr`, over TLS when the web configuration says so; it reloads with the server it runs on. */
export async function serveApp(o: WebOptions, security: WebSecurity, addr: { host: string | undefined; port: number }): Promise<Listening> {
  const on: { server?: Server | TlsServer } = {};
  const listening = await listen(createApp(o, security, () => on.server), addr.host, addr.port, security);
  on.server = listening.server;
  return listening;
}
