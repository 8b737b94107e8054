// --web.config.file: the Prometheus exporter-toolkit web configuration (TLS, client certificates, basic
// auth with bcrypt hashes, extra response headers), read as node_exporter reads it. File paths inside are
// relative to the file. Reloaded when the file changes or on SIGHUP; a bad reload keeps the last good one.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { z } from 'zod';
import { ConfigError } from '../config/errors.js';
import { loadStructuredFile } from '../config/files.js';
import { CLIENT_AUTH_TYPES, type WebConfig } from './security.js';

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

const TlsSchema = z
  .object({
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    client_auth_type: z.enum(CLIENT_AUTH_TYPES).optional(),
    client_ca_file: z.string().optional(),
    client_ca: z.string().optional(),
    min_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).optional(),
    max_version: z.enum(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS]).optional(),
    // accepted for compatibility with node_exporter's files; Node.js chooses its own suites and curves
    cipher_suites: z.array(z.string()).optional(),
    curve_preferences: z.array(z.string()).optional(),
    prefer_server_cipher_suites: z.boolean().optional(),
    client_allowed_sans: z.array(z.string()).optional(),
  })
  .strict();

const WebConfigSchema = z
  .object({
    tls_server_config: TlsSchema.optional(),
    http_server_config: z
      .object({
        http2: z.boolean().optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    basic_auth_users: z.record(z.string(), z.string()).optional(),
  })
  .strict();

// what exporter-toolkit refuses to let a config file override
const RESERVED_HEADERS = new Set(['authorization', 'content-type', 'content-length', 'content-encoding', 'www-authenticate', 'set-cookie']);


function readPem(flag: string, base: string, path: string, what: string): Buffer {
  const full = resolve(base, path);
  try {
    return readFileSync(full);
  } catch (e) {
    throw new ConfigError(`${flag}: ${what} ${full}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** Read and check a web configuration file; every fault is one ConfigError line. */
export function loadWebConfig(path: string): WebConfig {
  const flag = `--web.config.file ${path}`;
  const raw = loadStructuredFile('--web.config.file', path, WebConfigSchema);
  const base = dirname(resolve(path));
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(raw.basic_auth_users ?? {})) {
    // bcrypt hashes only, as exporter-toolkit: a plain password here would be a password on disk
    if (!/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw new ConfigError(`${flag}: basic_auth_users.${user}: not a bcrypt hash (make one with htpasswd -nBC 10 "" | tr -d ':\\n')`);
    users.set(user, hash);
  }
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(raw.http_server_config?.headers ?? {})) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new ConfigError(`${flag}: http_server_config.headers: ${name} cannot be set here`);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(value)) throw new ConfigError(`${flag}: http_server_config.headers: invalid header ${JSON.stringify(name)}`);
    headers.push([name, value]);
  }
  const t = raw.tls_server_config;
  if (!t) return { users, headers };
  const cert = t.cert ?? (t.cert_file ? readPem(flag, base, t.cert_file, 'cert_file') : undefined);
  const key = t.key ?? (t.key_file ? readPem(flag, base, t.key_file, 'key_file') : undefined);
  if (cert === undefined) throw new ConfigError(`${flag}: tls_server_config: missing cert_file`);
  if (key === undefined) throw new ConfigError(`${flag}: tls_server_config: missing key_file`);
  const clientAuth = t.client_auth_type ?? 'NoClientCert';
  const ca = t.client_ca ?? (t.client_ca_file ? readPem(flag, base, t.client_ca_file, 'client_ca_file') : undefined);
  if (ca === undefined && (clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert')) {
    throw new ConfigError(`${flag}: tls_server_config: client_auth_type ${clientAuth} needs client_ca_file`);
  }
  if (ca !== undefined && clientAuth === 'NoClientCert') throw new ConfigError(`${flag}: tls_server_config: client_ca_file is set but client_auth_type is NoClientCert`);
  const context: SecureContextOptions = { cert, key, ca, minVersion: TLS_VERSIONS[t.min_version ?? 'TLS12'] };
  if (t.max_version) context.maxVersion = TLS_VERSIONS[t.max_version];
  // made once here, so that a certificate that is no certificate, or one that does not match its key (a
  // rotation caught half way), is a fault of the file (at start: exit 2; on reload: the last good stays)
  try {
    createSecureContext(context);
  } catch (e) {
    throw new ConfigError(`${flag}: tls_server_config: cert_file, key_file or client_ca_file cannot be used: ${(e as Error).message}`);
  }
  return { tls: { context, clientAuth, allowedSans: t.client_allowed_sans }, users, headers };
}
