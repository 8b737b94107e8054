import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, DEMO, freePort, missingOutsideCi, tempDir } from './helpers.js';
import { until } from './netns.js';

const dir = tempDir();
const PCAP = join(DEMO, 'demo.pcapng');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('command line errors: exit 2, one line naming the fault', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['analyze', PCAP, '--bogus'], /unknown option '--bogus'/],
    ['bad number', ['analyze', PCAP, '--remote.top-k', 'ten'], /--remote.top-k.*'ten' is invalid/],
    ['bad choice', ['analyze', PCAP, '--format', 'xml'], /--format.*'xml' is invalid.*table, json, prometheus/],
    ['bad IP', ['analyze', PCAP, '--local-ip', '300.1.1.1'], /"300.1.1.1" is not an IP address/],
    ['missing capture', ['analyze', join(dir, 'nope.pcap')], /nope\.pcap: no such file/],
    ['missing topology', ['analyze', PCAP, '--topology.file', join(dir, 'nope.yaml')], /--topology.file .*nope\.yaml: no such file/],
    ['no file argument', ['analyze'], /^az-traffic-exporter: analyze: give capture or flow-log files, folders or s3:\/\/BUCKET\/PREFIX \(or --flow-logs.engine athena\)/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    // a mistyped command is named with the one meant, not taken for serve's argument
    ['mistyped command', ['analyz', PCAP], /unknown command 'analyz' \(Did you mean analyze\?\)/],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, () => {
      const r = run(args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).toMatch(/^az-traffic-exporter: /);
    });
  }

  it('a topology file with a bad CIDR, a typo in a key, or broken YAML', () => {
    const badCidr = file('bad-cidr.yaml', 'region: us-east-1\nsubnets:\n  - cidr: 172.31.0.0/33\n    zone: us-east-1a\n');
    let r = run(['analyze', PCAP, '--topology.file', badCidr]);
    expect([r.status, r.stderr.trim()]).toEqual([2, `az-traffic-exporter: --topology.file ${badCidr}: subnets[0].cidr: "172.31.0.0/33" is not a valid CIDR`]);
    const typo = file('typo.yaml', 'region: us-east-1\nsubnets:\n  - cidr: 172.31.0.0/20\n    zone-id: use1-az1\n');
    r = run(['analyze', PCAP, '--topology.file', typo]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/subnets\[0\]: Unrecognized key: "zone-id"/);
    const broken = file('broken.yaml', 'subnets: [\n');
    r = run(['analyze', PCAP, '--topology.file', broken]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not valid YAML/);
  });

  it('--kubernetes.node-name without any Kubernetes configuration, or with a KUBECONFIG that is not there', () => {
    const env = { ...process.env, HOME: dir, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
    let r = spawnSync(process.execPath, [CLI, 'serve', '--kubernetes.node-name', 'node-a', '--aws.discovery', 'false'], { encoding: 'utf8', env, timeout: 20_000 });
    expect([r.status, r.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(r.stderr).toMatch(/--kubernetes.node-name node-a: no Kubernetes configuration: not in a pod with a service account token/);
    r = spawnSync(process.execPath, [CLI, 'serve', '--kubernetes.node-name', 'node-a', '--aws.discovery', 'false'], { encoding: 'utf8', env: { ...env, KUBECONFIG: join(dir, 'no-kubeconfig') }, timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/KUBECONFIG names .*no-kubeconfig: no such file/);
  });

  it('a prices file with a negative price or an unknown category', () => {
    let r = run(['analyze', PCAP, '--prices.file', file('neg.yaml', 'prices:\n  cross_az: {egress: -1}\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/prices.cross_az.egress: price must be >= 0/);
    r = run(['analyze', PCAP, '--prices.file', file('cat.yaml', 'prices:\n  cross_region: {egress: 1}\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--prices.file/);
  });
});

describe('flags from the environment and files', () => {
  it('AZTRAFFIC_* variables set flags; flags win over them', () => {
    const env = {
      AZTRAFFIC_TOPOLOGY_FILE: join(DEMO, 'topology.yaml'),
      AZTRAFFIC_IP_RANGES_FILE: join(DEMO, 'ip-ranges.json'),
      AZTRAFFIC_FORMAT: 'json',
      AZTRAFFIC_REMOTE_TOP_K: '2',
    };
    const r = run(['analyze', PCAP], env);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.remotes.filter((x: { remote: string }) => x.remote !== 'other').length).toBeLessThanOrEqual(2);
    expect(report.categories.some((c: { category: string }) => c.category === 'regional_public')).toBe(true);
    const r2 = run(['analyze', PCAP, '--format', 'table'], env);
    expect(r2.stdout).toMatch(/^CAPTURE\n[^]*\nCOST BY CATEGORY\n/);
    const bad = run(['analyze', PCAP], { AZTRAFFIC_REMOTE_TOP_K: '-5' });
    expect(bad.status).toBe(2);
  });

  it('a prices file changes the price gauge and the table', () => {
    const prices = file('prices.yaml', 'prices:\n  regional_public: {egress: 0.02, ingress: 0.02}\n  unclassified: {egress: 0.05}\n');
    const r = run(['analyze', PCAP, '--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json'), '--prices.file', prices, '--format', 'prometheus']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`aztraffic_price_dollars_per_byte{direction="ingress",category="regional_public"} ${0.02 / 2 ** 30}`);
    expect(r.stdout).toContain(`aztraffic_price_dollars_per_byte{direction="egress",category="unclassified"} ${0.05 / 2 ** 30}`);
    expect(r.stdout).not.toContain('direction="ingress",category="unclassified"} ');
    expect(r.stdout).toContain(`aztraffic_price_dollars_per_byte{direction="egress",category="cross_az"} ${0.01 / 2 ** 30}`);
  });

  it("built-in prices follow the topology's region", () => {
    const t = file('apse1.yaml', 'region: ap-southeast-1\nlocal_ips: [172.31.51.15]\n');
    const r = run(['analyze', PCAP, '--topology.file', t, '--format', 'prometheus']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`aztraffic_price_dollars_per_byte{direction="egress",category="internet"} ${0.12 / 2 ** 30}`);
    expect(r.stdout).toContain(`aztraffic_price_dollars_per_byte{direction="egress",category="inter_region"} ${0.09 / 2 ** 30}`);
  });

  it('--log.level debug shows debug lines; the default does not', () => {
    const args = ['analyze', PCAP, '--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json')];
    expect(run([...args, '--log.level', 'debug']).stderr).toMatch(/level=debug msg="read and counted 10101 frames/);
    expect(run(args).stderr).not.toMatch(/level=debug/);
    expect(run(args, { AZTRAFFIC_LOG_LEVEL: 'debug', AZTRAFFIC_LOG_FORMAT: 'json' }).stderr).toMatch(/"level":"debug","msg":"read and counted/);
  });

  it('--help and --version exit 0', () => {
    expect(run(['--version']).status).toBe(0);
    const v = run(['-v']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = run(['analyze', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/AZTRAFFIC_TOPOLOGY_FILE/);
    // serve takes no positional argument, and its help says so
    expect(run(['serve', '--help']).stdout).toMatch(/^Usage: az-traffic-exporter serve \[options\]$/m);
  });

  it('on a Node.js older than 22: one line, exit 2, before anything else', () => {
    const older = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.20.2"}})';
    const r = spawnSync(process.execPath, ['--import', older, CLI, 'analyze', PCAP], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('az-traffic-exporter: needs Node.js >= 22; this is ' + process.version + '\n');
  });

  it('completion bash: a script that completes commands, flags and their choices in a real bash', () => {
    const script = run(['completion', 'bash']);
    expect(script.status).toBe(0);
    const f = file('completion.bash', script.stdout);
    const complete = (line: string): string[] => {
      const words = line.split(' ');
      const r = spawnSync(
        'bash',
        ['-c', `source ${f}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _az_traffic_exporter; printf '%s\\n' "\${COMPREPLY[@]}"`],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean);
    };
    expect(complete('az-traffic-exporter ana')).toEqual(['analyze']);
    expect(complete('az-traffic-exporter analyze --form')).toEqual(['--format']);
    expect(complete('az-traffic-exporter analyze x.pcap --format j')).toEqual(['json']);
    expect(complete('az-traffic-exporter --capture.d')).toEqual(['--capture.dns']);
    expect(complete('az-traffic-exporter serve --capture.dns ')).toEqual(['true', 'false']);
    expect(run(['completion', 'zsh']).stdout).toMatch(/^autoload -U \+X compinit && compinit\nautoload -U \+X bashcompinit && bashcompinit\n/);
  });
});

/** A GET with exactly these headers (fetch always asks for gzip and unpacks it). */
function raw(url: string, headers: Record<string, string> = {}): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

describe('demo', () => {
  it('serves /metrics from the bundled capture; promtool check metrics is clean; SIGTERM exits 0', async () => {
    const child = spawn('node', [CLI, 'demo', '--web.listen-address', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('demo did not start')), 15_000);
        let err = '';
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /url=(http:\/\/\S+)/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`demo exited ${code}: ${err}`)));
      });
      await new Promise((r) => setTimeout(r, 1500));
      const body = await (await fetch(`${url}/metrics`)).text();
      expect(body).toMatch(/aztraffic_bytes_total\{direction="ingress",category="regional_public",local_az="us-east-1d",remote_az=""\} \d+/);
      expect(body).toMatch(/aztraffic_remote_bytes_total\{direction="ingress",category="regional_public",remote_az="",remote="us-east-1.ec2.archive.ubuntu.com",port="80",path="nat_gateway"\} \d+/);
      expect(body).toMatch(/process_cpu_seconds_total/);
      // the story's workload: the bundled sockets (ss, taken with the capture) name apt's unit
      expect(body).toMatch(/aztraffic_workload_bytes_total\{direction="ingress",category="regional_public",namespace="",workload="apt-daily.service",workload_kind="systemd_unit"\} \d+/);
      // and the page's own data lists the workloads, the costliest first
      const summary = (await (await fetch(`${url}/api/v1/summary`)).json()) as { workloads: { workload: string }[] };
      expect(summary.workloads.map((w) => w.workload)).toContain('apt-daily.service');
      const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
      expect((await fetch(`${url}/-/healthy`)).status).toBe(200);
      expect((await fetch(`${url}/-/ready`)).status).toBe(200);
      // gzip for a scraper that takes it (Prometheus), identity otherwise; the two may come from two
      // renders on a busy machine (the replay goes on between them), so their families are compared,
      // and "one render, one compression" is the Exposition unit test's, on a clock of its own
      const [plain, gzipped] = await Promise.all([raw(`${url}/metrics`), raw(`${url}/metrics`, { 'Accept-Encoding': 'gzip' })]);
      expect([plain.headers['content-encoding'], gzipped.headers['content-encoding']]).toEqual([undefined, 'gzip']);
      expect([plain.headers.vary, gzipped.headers.vary]).toEqual(['Accept-Encoding', 'Accept-Encoding']);
      expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
      expect(gzipped.body.length).toBeLessThan(plain.body.length / 4);
      const unpacked = gunzipSync(gzipped.body).toString();
      const helps = (t: string): string[] => t.split('\n').filter((l) => l.startsWith('# HELP '));
      expect(helps(unpacked)).toEqual(helps(plain.body.toString()));
      expect(spawnSync('promtool', ['check', 'metrics'], { input: unpacked, encoding: 'utf8' }).stderr).toBe('');
      expect(plain.body.toString()).toMatch(/^aztraffic_remote_bytes_total\{/m);
      const landing = await (await fetch(`${url}/`)).text();
      expect(landing).toContain('regional_public');
      // counters grow as the replay goes on
      const first = Number(/aztraffic_packets_total\{direction="egress",category="same_az"[^}]*\} (\d+)/.exec(body)![1]);
      await new Promise((r) => setTimeout(r, 1500));
      const later = await (await fetch(`${url}/metrics`)).text();
      expect(Number(/aztraffic_packets_total\{direction="egress",category="same_az"[^}]*\} (\d+)/.exec(later)![1])).toBeGreaterThan(first);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
  });

  it('a bad listen address is a usage error', () => {
    const r = run(['demo', '--web.listen-address', 'localhost']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--web.listen-address "localhost": expected HOST:PORT/);
  });
});

/**
 * serve on loopback, IMDS unreachable (discovery tried and failed), until its first topology is built;
 * its stderr. `node` flags go before the CLI, `flags` after.
 */
async function serveUntilTopology(node: string[], flags: string[]): Promise<string> {
  const child = spawn(process.execPath, [...node, CLI, '--interface', 'lo', '--web.listen-address', '127.0.0.1:0', '--ip-ranges.url', 'none', '--web.shutdown-grace', '0', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await until('discovery tried and the topology built', async () => (/topology updated/.test(err) ? true : undefined), 20_000, 100);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  return err;
}

describe('serve at start', () => {
  // capture on loopback needs root (CAP_NET_RAW), as CI has
  it.skipIf(missingOutsideCi(process.getuid?.() === 0))('with --log.format json every line on stderr is a JSON record, discovery failing included', async () => {
    const err = await serveUntilTopology([], ['--log.format', 'json']);
    const lines = err.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.some((l) => (JSON.parse(l) as { source?: string }).source === 'imds')).toBe(true);
  }, 30_000);
});

describe('serve with a large topology', () => {
  it.skipIf(missingOutsideCi(process.getuid?.() === 0))('100k routes and a 100k-entry prefix list: listening first, ready within seconds (was minutes, deaf meanwhile)', async () => {
    const cidrs = Array.from({ length: 100_000 }, (_, i) => `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
    const topology = file(
      'large-topology.yaml',
      [
        'region: us-east-1',
        'subnets: [{ cidr: 10.0.0.0/24, zone: us-east-1a, id: subnet-a, vpc: vpc-1 }]',
        'route_tables:',
        '  - { id: rtb-1, vpc: vpc-1, main: true, routes: [{ destination: 0.0.0.0/0, target: igw-1 }, { prefix_list: pl-1, target: vpce-1 }] }',
        '  - id: rtb-2',
        '    routes:',
        ...cidrs.map((c, i) => `      - { destination: ${c}, target: tgw-${i % 7} }`),
        'prefix_lists:',
        '  - id: pl-1',
        '    cidrs:',
        ...cidrs.map((c) => `      - ${c}`),
      ].join('\n'),
    );
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, '--interface', 'lo', '--web.listen-address', `127.0.0.1:${port}`, '--topology.file', topology, '--aws.discovery', 'false', '--ip-ranges.url', 'none', '--web.shutdown-grace', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const ready = async (): Promise<number | undefined> => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/-/ready`)).status;
      } catch {
        return undefined;
      }
    };
    try {
      await until('ready', async () => ((await ready()) === 200 ? true : undefined), 30_000, 100);
      expect(err).toMatch(/serving metrics on/);
      expect(err).not.toMatch(/level=error/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});

describe('serve loads what it uses', () => {
  // every module the main thread loads, written to a file by a hook loaded first
  const modulesOf = async (flags: string[]): Promise<string[]> => {
    const out = join(dir, `modules-${flags.length}.txt`);
    const hook = file(
      'module-hook.mjs',
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
if (isMainThread) registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(out)}, url + '\\n'); return next(url, context); } });
`,
    );
    writeFileSync(out, '');
    await serveUntilTopology(['--import', hook], flags);
    return readFileSync(out, 'utf8').split('\n');
  };
  // the packages among them: by path, or by the source comments that the bundle keeps in its chunks
  const PACKAGES = /node_modules\/(zod|js-yaml|@aws-sdk|@smithy|@kubernetes)\//g;
  const heavy = (mods: string[]): Set<string> => {
    const found = new Set<string>();
    for (const m of mods.filter((u) => u.startsWith('file:'))) {
      const text = /\/dist\/[^/]+\.js$/.test(m) ? readFileSync(fileURLToPath(m), 'utf8') : m;
      for (const [, name] of text.matchAll(PACKAGES)) found.add(name);
    }
    return found;
  };

  it.skipIf(missingOutsideCi(process.getuid?.() === 0))('without files: no schema library, YAML parser, AWS SDK (discovery runs in its own thread) or Kubernetes client', async () => {
    expect(heavy(await modulesOf([]))).toEqual(new Set());
    // the same check sees them when a file asks for them
    const prices = file('prices-loaded.yaml', 'prices:\n  internet: { egress: 0.05 }\n');
    expect(heavy(await modulesOf(['--prices.file', prices]))).toEqual(new Set(['zod', 'js-yaml']));
  }, 60_000);
});

describe('ip-ranges file faults', () => {
  it('a bad prefix names the file and the prefix', () => {
    const bad = file('ranges.json', JSON.stringify({ prefixes: [{ ip_prefix: '3.80.0.0/40', region: 'us-east-1', service: 'EC2' }] }));
    const r = run(['analyze', PCAP, '--ip-ranges.file', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`az-traffic-exporter: --ip-ranges.file ${bad}: prefix "3.80.0.0/40" is not a valid CIDR`);
    const notJson = file('ranges2.json', '{"prefixes": [');
    const r2 = run(['analyze', PCAP, '--ip-ranges.file', notJson]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/not valid JSON/);
  });
});
