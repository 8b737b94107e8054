// `analyze` end to end through the built CLI, checked against sums computed independently from
// tshark's reading of the same capture.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, DEMO } from './helpers.js';

const DEMO_ARGS = ['--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json')];
const LOCAL = new Set(['172.31.51.15', '2600:1f18:1234:5600::15']);

// the story's remotes and the category each must get, written down independently of the code
const EXPECTED_CATEGORY: Record<string, string> = {
  '54.144.10.20': 'regional_public',
  '54.144.10.21': 'regional_public',
  '3.80.1.1': 'regional_public',
  '172.31.50.7': 'same_az',
  '2600:1f18:1234:5600::22': 'same_az',
  '172.31.20.10': 'cross_az',
  '10.1.0.5': 'cross_az',
  '52.216.8.40': 'aws_service',
  '205.251.249.10': 'aws_service',
  '3.80.16.5': 'aws_service',
  '140.82.112.6': 'internet',
  '52.48.1.9': 'inter_region',
  '10.200.0.5': 'unclassified',
  '172.31.0.2': 'internal',
  '169.254.169.254': 'internal',
  '169.254.169.123': 'internal',
};

function analyze(args: string[]) {
  return spawnSync('node', [CLI, 'analyze', ...args], { encoding: 'utf8' });
}

function tsharkSums(file: string): Map<string, number> {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-Y', '(ip || ipv6) && !_ws.malformed', '-T', 'fields', '-E', 'separator=,', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.len', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'ipv6.plen'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const sums = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const [s4, d4, len4, s6, d6, plen6] = line.split(',');
    const [src, dst, bytes] = s4 ? [s4, d4, Number(len4)] : [s6, d6, 40 + Number(plen6)];
    const egress = LOCAL.has(src);
    const remote = egress ? dst : src;
    const category = EXPECTED_CATEGORY[remote];
    if (!category) throw new Error(`remote ${remote} is not in the story`);
    const key = `${egress ? 'egress' : 'ingress'}/${category}`;
    sums.set(key, (sums.get(key) ?? 0) + bytes);
  }
  return sums;
}

describe('analyze', () => {
  it('demo story: bytes per (direction, category) equal an independent tshark sum, exactly', () => {
    const r = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { categories: { direction: string; category: string; bytes: number }[] };
    const ours = new Map(report.categories.map((c) => [`${c.direction}/${c.category}`, c.bytes]));
    const theirs = tsharkSums(join(DEMO, 'demo.pcapng'));
    expect(Object.fromEntries([...ours].sort())).toEqual(Object.fromEntries([...theirs].sort()));
    // every category of the story is there
    expect(new Set(report.categories.map((c) => c.category))).toEqual(new Set(Object.values(EXPECTED_CATEGORY)));
  });

  it('table: the bill lines first (NAT gateway processing on top), costs by category, the apt mirror named as the top regional_public remote', () => {
    const r = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^CAPTURE\n30\.0 s, .*\ncost: \$0\.000443 in the capture = \$0\.0531\/hour = \$38\.77 per month \(730 h\) at this rate \(bill lines; data transfer by category alone: \$0\.0101\/hour\)\n\nBILL LINES .*\nUSAGE TYPE +PATH +GB +\$\/GB +COST \$ +\$\/HOUR\nNatGateway-Bytes +nat_gateway +0\.006 +0\.045 /,
    );
    expect(r.stdout.indexOf('BILL LINES')).toBeLessThan(r.stdout.indexOf('COST BY CATEGORY'));
    // a month's projection from 30 s of traffic says so, and by how much it multiplies, in the output and beside the page's figure
    expect(r.stdout).toMatch(/^CAVEAT: the capture spans only 30\.0 s: its dollars per hour and per month are that window's rate, multiplied 87,600 times for a month/m);
    const html = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--format', 'html']).stdout;
    expect(html).toMatch(/per month, from 30\.0 s of traffic/);
    const top = r.stdout.split('TOP REMOTES BY COST')[1].split('\n')[2];
    expect(top).toMatch(/^us-east-1\.ec2\.archive\.ubuntu\.com\s+80\s+regional_public\s+nat_gateway/);
    expect(r.stdout).toMatch(/mydb\.cluster-c9x1\.us-east-1\.rds\.amazonaws\.com\s+5432\s+cross_az\s+direct\s+us-east-1b/);
    expect(r.stdout).toMatch(/decode errors: truncated_ip_header=1/);
  });

  it('--max-dollars-per-hour: the report, then exit 1 above the limit (one line saying by how much), 0 under it; a bad amount exits 2', () => {
    const over = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--format', 'json', '--max-dollars-per-hour', '0.05']);
    expect(over.status).toBe(1);
    expect(JSON.parse(over.stdout).bill_cost_dollars).toBeGreaterThan(0);
    expect(over.stderr).toMatch(/--max-dollars-per-hour 0\.05: the capture's bill lines cost \$0\.0531 per hour, more than allowed/);
    expect(analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--format', 'json', '--max-dollars-per-hour', '0.06']).status).toBe(0);
    const bad = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--max-dollars-per-hour', '-1']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it("json: each remote's dollars are the sum of its bytes' bill lines: over all remotes, the host's bill lines to the cent and beyond", () => {
    const r = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { bill_cost_dollars: number; remotes: { remote: string; path: string; cost_dollars: number | null; egress_bytes: number; ingress_bytes: number }[] };
    const sum = report.remotes.reduce((s, x) => s + (x.cost_dollars ?? 0), 0);
    expect(sum).toBeCloseTo(report.bill_cost_dollars, 15);
    // the mirror behind the NAT gateway of another zone: the leg to the NAT gateway, its processing and the
    // regional leg beyond it, $0.065/GB (its category alone said $0.01)
    const mirror = report.remotes.find((x) => x.remote === 'us-east-1.ec2.archive.ubuntu.com')!;
    expect(mirror.path).toBe('nat_gateway');
    expect(mirror.cost_dollars).toBeCloseTo(((mirror.egress_bytes + mirror.ingress_bytes) / 2 ** 30) * (0.01 + 0.045 + 0.01), 15);
    // a VPN peer of no known subnet: unclassified, yet its egress is on the internet-out line, and so in its dollars
    const vpn = report.remotes.find((x) => x.remote === '10.200.0.5')!;
    expect(vpn.cost_dollars).toBeCloseTo((vpn.egress_bytes / 2 ** 30) * 0.09, 15);
    // the metadata service is link-local: no NAT gateway line, however 0.0.0.0/0 is routed
    expect(report.remotes.find((x) => x.remote === '169.254.169.254')).toMatchObject({ path: 'direct', cost_dollars: 0 });
  });

  it('prometheus: remote series sum to aztraffic_bytes_total per (direction, category); promtool finds nothing', () => {
    const r = analyze([join(DEMO, 'demo.pcapng'), ...DEMO_ARGS, '--format', 'prometheus', '--remote.top-k', '3']);
    expect(r.status, r.stderr).toBe(0);
    const sums = (metric: string) => {
      const m = new Map<string, number>();
      for (const line of r.stdout.split('\n')) {
        if (!line.startsWith(metric + '{')) continue;
        const dir = /direction="(\w+)"/.exec(line)![1];
        const cat = /category="(\w+)"/.exec(line)![1];
        m.set(`${dir}/${cat}`, (m.get(`${dir}/${cat}`) ?? 0) + Number(line.split(' ').pop()));
      }
      return m;
    };
    const totals = sums('aztraffic_bytes_total');
    expect(totals.size).toBeGreaterThan(10);
    expect(sums('aztraffic_remote_bytes_total')).toEqual(totals);
    const named = r.stdout.split('\n').filter((l) => l.startsWith('aztraffic_remote_bytes_total{') && !l.includes('remote="other"'));
    expect(named).toHaveLength(3);
    expect(r.stdout).toContain('aztraffic_price_dollars_per_byte{direction="egress",category="cross_az"} 9.313225746154785e-12');
    expect(r.stdout).toContain('aztraffic_zone_info{zone="us-east-1d",zone_id="use1-az4"} 1');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('guesses the local address when none is given, and says so', () => {
    const r = analyze([join(DEMO, 'demo.pcapng'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json'), '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/this host is taken to be 172\.31\.51\.15/);
    expect(JSON.parse(r.stdout).local_ips).toEqual(['172.31.51.15']);
  });

  it('says in the output itself, not only on stderr, what it assumed: the local address, the region, the package\'s own ip-ranges.json', () => {
    const args = [join(DEMO, 'demo.pcapng'), '--ip-ranges.url', 'none'];
    const json = analyze([...args, '--format', 'json']);
    expect(json.status, json.stderr).toBe(0);
    const caveats = (JSON.parse(json.stdout) as { capture: { caveats: string[] } }).capture.caveats;
    expect(caveats).toEqual([
      expect.stringMatching(/^ip-ranges\.json is the package's own copy of 2026-08-22-21-17-05 \(\d+ days old; --ip-ranges\.url none\)/),
      expect.stringMatching(/this host is taken to be 172\.31\.51\.15/),
      expect.stringMatching(/^the capture spans only \d+\.\d s: its dollars per hour and per month are that window's rate, multiplied [\d,]+ times for a month/),
      expect.stringMatching(/^no region in a topology file and no AWS_REGION: us-east-1 assumed/),
    ]);
    const table = analyze(args);
    for (const c of caveats) expect(table.stdout).toContain(`CAVEAT: ${c}`);
    const html = analyze([...args, '--format', 'html']);
    expect(html.stdout).toContain('own copy of 2026-08-22-21-17-05');
    // given everything, nothing is assumed; but a month projected from 30 seconds says how short its window is
    const whole = analyze([join(DEMO, 'demo.pcapng'), '--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json'), '--format', 'json']);
    const span = (JSON.parse(whole.stdout) as { capture: { duration_seconds: number } }).capture.duration_seconds;
    expect((JSON.parse(whole.stdout) as { capture: { caveats: string[] } }).capture.caveats).toEqual([
      `the capture spans only ${span.toFixed(1)} s: its dollars per hour and per month are that window's rate, multiplied ${Math.round((730 * 3600) / span).toLocaleString('en-US')} times for a month; capture an hour or more (or use serve) before budgeting from it`,
    ]);
  });
});
