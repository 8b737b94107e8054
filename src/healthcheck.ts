#!/usr/bin/env node
// The container's HEALTHCHECK: asks the running exporter's /-/healthy on the address it was really
// given. The exporter is PID 1 of the container; its command line (/proc/1/cmdline) and the container's
// environment (which a HEALTHCHECK runs with; /proc/1/environ is closed to us, as PID 1 holds a file
// capability) are parsed with the exporter's own flag parser (flags, AZTRAFFIC_* variables,
// --config.file), so a changed --web.listen-address or a --web.config.file with TLS is followed.
// Exit 0 healthy, 1 not.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { buildProgram, withDefaultCommand } from './cli.js';
import { parseListenAddress } from './config/listen-address.js';
import { loadWebConfig } from './web/web-config.js';

function procList(path: string): string[] {
  return readFileSync(path, 'utf8').split('\0').filter((s) => s !== '');
}

/** The serving command's options, as the exporter itself resolved them. */
export async function exporterOptions(argv: string[], env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('AZTRAFFIC_')) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (k.startsWith('AZTRAFFIC_')) process.env[k] = v;
  try {
    const program = buildProgram(
      () => {},
      () => {},
    );
    let opts: Record<string, unknown> = {};
    for (const c of program.commands) c.action((...args: unknown[]) => void (opts = args[args.length - 2] as Record<string, unknown>));
    await program.parseAsync(withDefaultCommand(argv), { from: 'user' });
    return opts;
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** The URL of /-/healthy for those options: loopback for a wildcard host, https when TLS is on. */
export function healthUrl(opts: Record<string, unknown>): { url: string; tls: boolean } {
  const addr = parseListenAddress(String(opts['web.listenAddress'] ?? ':9977'));
  const tls = opts['web.config.file'] ? loadWebConfig(String(opts['web.config.file'])).tls !== undefined : false;
  let host = addr.host;
  if (host === undefined || host === '' || host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  const shown = host.includes(':') ? `[${host}]` : host;
  return { url: `${tls ? 'https' : 'http'}://${shown}:${addr.port}/-/healthy`, tls };
}

async function main(): Promise<number> {
  const cmdline = procList('/proc/1/cmdline');
  // node [node flags] /app/dist/cli.js [command] [flags]
  const script = cmdline.findIndex((a) => a.endsWith('cli.js'));
  const argv = script >= 0 ? cmdline.slice(script + 1) : [];
  const { url, tls } = healthUrl(await exporterOptions(argv, process.env));
  return new Promise((resolve) => {
    // a local probe: the certificate is the exporter's own, its name need not match "127.0.0.1"; a
    // server that demands a client certificate and says so in the handshake is up
    const req = (tls ? httpsRequest : httpRequest)(url, { timeout: 4000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? 0 : 1);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const alive = tls && /CERTIFICATE_REQUIRED|certificate required|HANDSHAKE_FAILURE|alert/i.test(`${e.code} ${e.message}`);
      if (!alive) process.stderr.write(`unhealthy: ${url}: ${e.message}\n`);
      resolve(alive ? 0 : 1);
    });
    req.end();
  });
}

if (process.argv[1]?.endsWith('healthcheck.js')) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`unhealthy: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
