// The container HEALTHCHECK follows the exporter's configuration: its port, its address, TLS.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exporterOptions, healthUrl } from '../src/healthcheck.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

describe('healthcheck', () => {
  it('finds the listen address in flags, env and the config file, as the exporter does', async () => {
    expect(healthUrl(await exporterOptions(['serve'], {})).url).toBe('http://127.0.0.1:9977/-/healthy');
    expect(healthUrl(await exporterOptions(['serve', '--web.listen-address', ':9100'], {})).url).toBe('http://127.0.0.1:9100/-/healthy');
    expect(healthUrl(await exporterOptions(['--web.listen-address=10.0.0.5:9101'], {})).url).toBe('http://10.0.0.5:9101/-/healthy');
    expect(healthUrl(await exporterOptions([], { AZTRAFFIC_WEB_LISTEN_ADDRESS: '[::]:9102' })).url).toBe('http://[::1]:9102/-/healthy');
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, 'web.listen-address: "127.0.0.2:9103"\n');
    expect(healthUrl(await exporterOptions(['--config.file', cfg], {})).url).toBe('http://127.0.0.2:9103/-/healthy');
    // and the environment of this process is left as it was
    expect(process.env.AZTRAFFIC_WEB_LISTEN_ADDRESS).toBeUndefined();
  });

  it('speaks https when the web configuration has TLS', async () => {
    const web = join(dir, 'web.yml');
    // a certificate and key that go together: the configuration is checked as it is read
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    writeFileSync(web, 'tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n');
    const h = healthUrl(await exporterOptions(['serve', '--web.config.file', web, '--web.listen-address', ':9104'], {}));
    expect(h).toEqual({ url: 'https://127.0.0.1:9104/-/healthy', tls: true });
  });
});
