// --web.config.file, as node_exporter reads it: TLS with client certificates, bcrypt basic auth, headers,
// reload on change and on SIGHUP. Real clients: curl and a real Prometheus scraping over TLS.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, tempDir } from './helpers.js';
import { until, waitForOutput } from './netns.js';

const dir = tempDir();
const PORT = 19200 + (process.pid % 300);
const children: ChildProcess[] = [];
const pem = (name: string): string => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1, a client certificate it signed, and one it did not. */
function makeCertificates(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-ca', '-keyout', pem('ca.key'), '-out', pem('ca.crt'));
  const sign = (name: string, subj: string, ext: string, ca = 'ca'): void => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subj, '-keyout', pem(`${name}.key`), '-out', pem(`${name}.csr`));
    writeFileSync(pem(`${name}.ext`), ext);
    openssl('x509', '-req', '-in', pem(`${name}.csr`), '-CA', pem(`${ca}.crt`), '-CAkey', pem(`${ca}.key`), '-CAcreateserial', '-days', '2', '-extfile', pem(`${name}.ext`), '-out', pem(`${name}.crt`));
  };
  sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  sign('client', '/CN=prometheus', 'subjectAltName=DNS:prometheus\nextendedKeyUsage=clientAuth\n');
  // trusted (the same CA) but named otherwise: client_allowed_sans tells the two apart
  sign('stranger', '/CN=stranger', 'subjectAltName=DNS:stranger\nextendedKeyUsage=clientAuth\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=rogue', '-keyout', pem('rogue.key'), '-out', pem('rogue.crt'));
}

const HASH = bcrypt.hashSync('s3cret', 10);

function webConfig(extra = ''): string {
  return `tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
basic_auth_users:
  prometheus: ${JSON.stringify(HASH)}
http_server_config:
  headers:
    Strict-Transport-Security: max-age=31536000
${extra}`;
}

function curl(args: string[]): { code: string; headers: string; body: string; status: number | null } {
  const r = spawnSync('curl', ['-s', '-D', '-', '--cacert', pem('ca.crt'), '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const out = r.stdout;
  const code = out.slice(out.lastIndexOf('\n') + 1);
  const [headers, ...body] = out.slice(0, out.lastIndexOf('\n')).split('\r\n\r\n');
  return { code, headers: headers ?? '', body: body.join('\r\n\r\n'), status: r.status };
}

const URL = `https://127.0.0.1:${PORT}`;
const withCert = ['--cert', pem('client.crt'), '--key', pem('client.key')];

describe('--web.config.file: TLS, client certificates, basic auth, headers', () => {
  let exporter: ChildProcess;
  beforeAll(async () => {
    makeCertificates();
    writeFileSync(pem('web.yml'), webConfig());
    exporter = spawn(process.execPath, [CLI, 'demo', '--web.listen-address', `127.0.0.1:${PORT}`, '--web.config.file', pem('web.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(exporter);
    await waitForOutput(exporter, /serving metrics on https:/);
  }, 60_000);
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('a client with a trusted certificate and the password gets metrics and the configured headers', () => {
    const r = curl([...withCert, '-u', 'prometheus:s3cret', `${URL}/metrics`]);
    expect(r.code).toBe('200');
    expect(r.body).toMatch(/^aztraffic_build_info\{/m);
    expect(r.headers).toMatch(/^strict-transport-security: max-age=31536000$/im);
    expect(r.headers).toMatch(/^x-content-type-options: nosniff$/im);
  });

  it('wrong password or no password: 401 with a Basic challenge', () => {
    const wrong = curl([...withCert, '-u', 'prometheus:nope', `${URL}/metrics`]);
    expect(wrong.code).toBe('401');
    expect(wrong.headers).toMatch(/^www-authenticate: Basic realm=/im);
    expect(curl([...withCert, '-u', 'nobody:s3cret', `${URL}/metrics`]).code).toBe('401');
    expect(curl([...withCert, `${URL}/metrics`]).code).toBe('401');
  });

  it('no client certificate, or one no trusted CA signed: the TLS handshake fails', () => {
    const none = curl(['-u', 'prometheus:s3cret', `${URL}/metrics`]);
    expect(none.code).toBe('000');
    const rogue = curl(['--cert', pem('rogue.crt'), '--key', pem('rogue.key'), '-u', 'prometheus:s3cret', `${URL}/metrics`]);
    expect(rogue.code).toBe('000');
  });

  it('plain HTTP to the TLS port is refused, and TLS below min_version fails', () => {
    const plain = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${PORT}/metrics`], { encoding: 'utf8' });
    expect(plain.stdout).not.toBe('200');
    expect(curl([...withCert, '--tls-max', '1.1', '-u', 'prometheus:s3cret', `${URL}/metrics`]).code).toBe('000');
  });

  it('a real Prometheus scrapes it over TLS with a client certificate and basic auth', async () => {
    const data = join(dir, 'prom');
    mkdirSync(data);
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(
      cfg,
      `global: {scrape_interval: 1s}
scrape_configs:
  - job_name: az-traffic-exporter
    scheme: https
    tls_config: {ca_file: ${pem('ca.crt')}, cert_file: ${pem('client.crt')}, key_file: ${pem('client.key')}}
    basic_auth: {username: prometheus, password: s3cret}
    static_configs: [{targets: ['127.0.0.1:${PORT}']}]
`,
    );
    const promPort = 19600 + (process.pid % 300);
    const prom = spawn('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(prom);
    await waitForOutput(prom, /Server is ready to receive web requests/, 30_000);
    const q = encodeURIComponent('up{job="az-traffic-exporter"} == 1 and on() count(aztraffic_bytes_total) > 0');
    const result = await until(
      'Prometheus scraped over TLS',
      async () => {
        const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`)).json()) as { data: { result: unknown[] } };
        return r.data.result.length === 1 ? r.data.result : undefined;
      },
      30_000,
      500,
    );
    expect(result).toHaveLength(1);
    prom.kill('SIGTERM');
  }, 60_000);

  it('a changed file is reloaded: new password works, old one does not; a broken file keeps the last good one', async () => {
    const hash2 = bcrypt.hashSync('n3w', 10);
    writeFileSync(pem('web.yml'), webConfig().replace(JSON.stringify(HASH), JSON.stringify(hash2)));
    await until('new password accepted', async () => (curl([...withCert, '-u', 'prometheus:n3w', `${URL}/metrics`]).code === '200' ? true : undefined), 10_000, 300);
    expect(curl([...withCert, '-u', 'prometheus:s3cret', `${URL}/metrics`]).code).toBe('401');
    // broken: last good stays, an error is logged
    const logged = waitForOutput(exporter, /web configuration not reloaded/, 10_000);
    writeFileSync(pem('web.yml'), 'basic_auth_users: [\n');
    exporter.kill('SIGHUP');
    await logged;
    expect(curl([...withCert, '-u', 'prometheus:n3w', `${URL}/metrics`]).code).toBe('200');
    expect(exporter.exitCode).toBeNull();
  });

  it('SIGHUP reloads the file at once and the process lives on', async () => {
    const hash3 = bcrypt.hashSync('th1rd', 10);
    const logged = waitForOutput(exporter, /SIGHUP: reloading/, 10_000);
    writeFileSync(pem('web.yml'), webConfig().replace(JSON.stringify(HASH), JSON.stringify(hash3)));
    exporter.kill('SIGHUP');
    await logged;
    expect(curl([...withCert, '-u', 'prometheus:th1rd', `${URL}/metrics`]).code).toBe('200');
    expect(exporter.exitCode).toBeNull();
  });

  it('a certificate swapped for one that does not match its key, then SIGHUP: the last good TLS stays, the process lives', async () => {
    const good = webConfig().replace(JSON.stringify(HASH), JSON.stringify(bcrypt.hashSync('th1rd', 10)));
    const logged = waitForOutput(exporter, /web configuration not reloaded, the last good one stays: .*cannot be used/, 10_000);
    writeFileSync(pem('web.yml'), good.replace('cert_file: server.crt', 'cert_file: rogue.crt'));
    exporter.kill('SIGHUP');
    await logged;
    await new Promise((r) => setTimeout(r, 300));
    expect(exporter.exitCode).toBeNull();
    expect(curl([...withCert, '-u', 'prometheus:th1rd', `${URL}/metrics`]).code).toBe('200');
  });

  it('a garbage certificate in the watched file: clients are served with the last good one, never a 500 or a stack', async () => {
    writeFileSync(pem('garbage.crt'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const good = webConfig().replace(JSON.stringify(HASH), JSON.stringify(bcrypt.hashSync('th1rd', 10)));
    writeFileSync(pem('web.yml'), good.replace('cert_file: server.crt', 'cert_file: garbage.crt'));
    await new Promise((r) => setTimeout(r, 1200)); // the file is looked at once a second, on requests
    // a stack's frame ("    at fn (file.js:1:2)") or an error's name, anywhere in a body
    const stack = /^\s+at .+:\d+:\d+\)?$|Error:/m;
    for (let i = 0; i < 3; i++) {
      const r = curl([...withCert, '-u', 'prometheus:th1rd', `${URL}/metrics`]);
      expect(r.code).toBe('200');
      expect(r.body).not.toMatch(stack);
      await new Promise((res) => setTimeout(res, 600));
    }
    const anonymous = curl([...withCert, `${URL}/metrics`]);
    expect(anonymous.code).toBe('401');
    expect(anonymous.body).not.toMatch(stack);
    expect(exporter.exitCode).toBeNull();
  });
});

describe('--web.config.file: min_version above the default, client_allowed_sans', () => {
  // TLS 1.2 is Node's own floor: only a min_version above it shows that the setting is applied
  const port = PORT + 350;
  const url = `https://127.0.0.1:${port}`;
  let exporter: ChildProcess;
  beforeAll(async () => {
    if (!existsSync(pem('stranger.crt'))) makeCertificates();
    writeFileSync(
      pem('web-strict.yml'),
      webConfig().replace('min_version: TLS12', 'min_version: TLS13\n  client_allowed_sans: [prometheus]'),
    );
    exporter = spawn(process.execPath, [CLI, 'demo', '--web.listen-address', `127.0.0.1:${port}`, '--web.config.file', pem('web-strict.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(exporter);
    await waitForOutput(exporter, /serving metrics on https:/);
  }, 60_000);
  afterAll(() => void exporter?.kill('SIGKILL'));

  it('min_version TLS13: a TLS 1.2 client fails the handshake, a TLS 1.3 one is served', () => {
    expect(curl([...withCert, '--tls-max', '1.2', '-u', 'prometheus:s3cret', `${url}/metrics`]).code).toBe('000');
    expect(curl([...withCert, '--tlsv1.3', '-u', 'prometheus:s3cret', `${url}/metrics`]).code).toBe('200');
  });

  it('client_allowed_sans: a trusted certificate of another name is refused, the named one served', () => {
    expect(curl([...withCert, '-u', 'prometheus:s3cret', `${url}/metrics`]).code).toBe('200');
    expect(curl(['--cert', pem('stranger.crt'), '--key', pem('stranger.key'), '-u', 'prometheus:s3cret', `${url}/metrics`]).code).toBe('403');
  });
});

describe('basic auth under a flood of wrong passwords', () => {
  const port = PORT + 370;
  const url = `http://127.0.0.1:${port}`;
  const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  let exporter: ChildProcess;
  beforeAll(async () => {
    // cost 12: a check is a quarter of a second of CPU, as a careful operator's hash would be
    writeFileSync(pem('web-auth.yml'), `basic_auth_users:\n  prometheus: ${JSON.stringify(bcrypt.hashSync('s3cret', 12))}\n`);
    exporter = spawn(process.execPath, [CLI, 'demo', '--web.listen-address', `127.0.0.1:${port}`, '--web.config.file', pem('web-auth.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(exporter);
    await waitForOutput(exporter, /serving metrics on http:/);
  }, 60_000);
  afterAll(() => void exporter?.kill('SIGKILL'));

  it('health probes and a scraper with the right password are answered while 20 clients send wrong ones', async () => {
    expect((await fetch(`${url}/metrics`, { headers: basic('prometheus', 's3cret') })).status).toBe(200);
    let flooding = true;
    const wrong: number[] = [];
    // bounded: 20 clients, for 4 seconds
    const flood = Array.from({ length: 20 }, async (_, i) => {
      while (flooding) wrong.push((await fetch(`${url}/metrics`, { headers: basic(i % 2 ? 'prometheus' : `nobody${i}`, `wrong${i}`) })).status);
    });
    const slowest = { health: 0, scrape: 0 };
    const statuses: number[] = [];
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      let t = performance.now();
      statuses.push((await fetch(`${url}/-/healthy`)).status);
      slowest.health = Math.max(slowest.health, performance.now() - t);
      t = performance.now();
      statuses.push((await fetch(`${url}/metrics`, { headers: basic('prometheus', 's3cret') })).status);
      slowest.scrape = Math.max(slowest.scrape, performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    flooding = false;
    await Promise.all(flood);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(wrong.length).toBeGreaterThan(0);
    expect(wrong.every((code) => code === 401 || code === 429)).toBe(true);
    // the checks run in their own thread: a probe or a known password waits for no bcrypt (a liveness
    // probe's default timeout is 1 s; this machine's load costs some of it)
    expect(slowest.health, JSON.stringify(slowest)).toBeLessThan(1000);
    expect(slowest.scrape, JSON.stringify(slowest)).toBeLessThan(1000);
  }, 60_000);

  it('a wrong password takes as long for an unknown user as for a known one', async () => {
    const time = async (user: string): Promise<number> => {
      const t = performance.now();
      expect((await fetch(`${url}/metrics`, { headers: basic(user, 'not-it') })).status).toBe(401);
      return performance.now() - t;
    };
    await time('nobody'); // the unknown users' hash is made on first use
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time('prometheus'));
      unknown.push(await time(`nobody${i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
    // the same bcrypt cost both ways (it was 97 ms against 3.6 ms): within a factor that load cannot reach
    expect(median(unknown) / median(known), JSON.stringify({ known, unknown })).toBeGreaterThan(1 / 3);
    expect(median(unknown) / median(known), JSON.stringify({ known, unknown })).toBeLessThan(3);
  }, 60_000);
});

describe('--web.config.file faults exit 2 with one line', () => {
  const cases: [string, string, RegExp][] = [
    ['an unknown key', 'basic_auth_user:\n  a: b\n', /Unrecognized key: "basic_auth_user"/],
    ['a plain password', 'basic_auth_users:\n  prometheus: hunter2\n', /basic_auth_users.prometheus: not a bcrypt hash/],
    ['a missing key file', 'tls_server_config:\n  cert_file: server.crt\n', /missing key_file/],
    ['an unknown client_auth_type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n', /client_auth_type/],
    ['a reserved header', 'http_server_config:\n  headers:\n    Content-Type: text/html\n', /Content-Type cannot be set here/],
  ];
  for (const [name, text, pattern] of cases) {
    it(name, () => {
      const f = join(dir, `bad-${name.replace(/\W+/g, '-')}.yml`);
      writeFileSync(f, text);
      const r = spawnSync(process.execPath, [CLI, 'demo', '--web.listen-address', '127.0.0.1:0', '--web.config.file', f], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    });
  }
});

describe('the front door without a web configuration', () => {
  it('write methods get 405; the page carries a CSP; every response has nosniff', async () => {
    const port = PORT + 400;
    const demo = spawn(process.execPath, [CLI, 'demo', '--web.listen-address', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(demo);
    await waitForOutput(demo, /serving metrics/);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`, { method });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
    }
    const page = await fetch(`http://127.0.0.1:${port}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    // the page's one script runs by its nonce, new for every response; it may fetch only the exporter
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(await page.text()).toContain(`<script nonce="${nonce}">`);
    expect(csp).toMatch(/connect-src 'self'/);
    const again = (await fetch(`http://127.0.0.1:${port}/`)).headers.get('content-security-policy');
    expect(/script-src 'nonce-([^']+)'/.exec(again ?? '')?.[1]).not.toBe(nonce);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).headers.get('x-content-type-options')).toBe('nosniff');
    demo.kill('SIGTERM');
  });
});
