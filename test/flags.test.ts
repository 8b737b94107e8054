// The flag table of docs/configuration.md is the contract: every flag it documents must be accepted, from the command
// line and from its environment variable, by every command the table names for it, and by no other.
// A doc and a flag can then never drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram, envName } from '../src/cli.js';

const README = readFileSync(join(import.meta.dirname, '..', 'docs', 'configuration.md'), 'utf8');

interface Row {
  flag: string;
  env: string;
  commands: string[];
}

function flagTable(): Row[] {
  const start = README.indexOf('| flag | env | commands | default | meaning |');
  expect(start).toBeGreaterThan(0);
  const rows: Row[] = [];
  for (const line of README.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    rows.push({ flag: cells[1].replace(/`/g, ''), env: cells[2].replace(/`/g, ''), commands: cells[3].split(/,\s*/) });
  }
  return rows;
}

// a valid value per documented flag; a new flag without one fails the test below
const EXAMPLES: Record<string, [string, unknown]> = {
  '--interface': ['eth7', 'eth7'],
  '--capture.filter': ['tcp port 443', 'tcp port 443'],
  '--capture.buffer-bytes': ['134217728', 134217728],
  '--capture.snaplen': ['256', 256],
  '--capture.dns': ['false', false],
  '--local-ip': ['10.0.0.7', ['10.0.0.7']],
  '--web.listen-address': ['127.0.0.1:9100', '127.0.0.1:9100'],
  '--web.telemetry-path': ['/m', '/m'],
  '--web.config.file': ['/etc/web.yml', '/etc/web.yml'],
  '--web.shutdown-grace': ['7', 7],
  '--metrics.flush-interval': ['3', 3],
  '--topology.file': ['/t.yaml', '/t.yaml'],
  '--ip-ranges.file': ['/r.json', '/r.json'],
  '--prices.file': ['/p.yaml', '/p.yaml'],
  '--remote.top-k': ['7', 7],
  '--remote.table-size': ['1024', 1024],
  '--aws.discovery': ['false', false],
  '--topology.refresh-interval': ['90s', 90_000],
  '--ip-ranges.url': ['none', 'none'],
  '--ip-ranges.cache': ['/c.json', '/c.json'],
  '--ip-ranges.refresh-interval': ['2h', 7_200_000],
  '--topology.hold': ['90s', 90_000],
  '--log.level': ['warn', 'warn'],
  '--log.format': ['json', 'json'],
  '--format': ['json', 'json'],
  '--demo.capture': ['/d.pcapng', '/d.pcapng'],
  '--demo.sockets': ['/ss.txt', '/ss.txt'],
  '--cur': ['/cur/a.parquet,/cur/b.csv.gz', ['/cur/a.parquet', '/cur/b.csv.gz']],
  '--prometheus': ['http://prometheus:9090', 'http://prometheus:9090'],
  '--range': ['7d', 7 * 86_400_000],
  '--end': ['2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'],
  '--workload.top-k': ['9', 9],
  '--workload.attribution': ['false', false],
  '--workload.processes': ['false', false],
  '--workload.flow-table-size': ['2048', 2048],
  '--workload.fixed': ['shop/Deployment/checkout', { namespace: 'shop', kind: 'Deployment', name: 'checkout' }],
  '--kubernetes.node-name': ['ip-10-0-1-5.ec2.internal', 'ip-10-0-1-5.ec2.internal'],
  '--pods': ['/pods.json,/later.json', ['/pods.json', '/later.json']],
  '--cache.dir': ['/var/cache/azt', '/var/cache/azt'],
  '--read.parallel': ['off', 'off'],
  '--max-dollars-per-hour': ['0.05', 0.05],
  '--flow-logs.since': ['2026-12-06T08:00:00Z', Date.UTC(2026, 11, 6, 8) / 1000],
  '--flow-logs.engine': ['duckdb', 'duckdb'],
  '--athena.workgroup': ['finops', 'finops'],
  '--athena.database': ['flowdb', 'flowdb'],
  '--athena.table': ['vpc_flow_logs', 'vpc_flow_logs'],
  '--athena.output': ['s3://athena-results/flow-logs/', 's3://athena-results/flow-logs/'],
  '--athena.day-column': ['dt', 'dt'],
  '--flow-logs.until': ['2026-12-07', Date.UTC(2026, 11, 7) / 1000],
  '--flow-logs.url': ['s3://central-logs/AWSLogs/', 's3://central-logs/AWSLogs/'],
  '--flow-logs.state': ['/var/lib/aztraffic/state.json', '/var/lib/aztraffic/state.json'],
  '--flow-logs.poll-interval': ['30s', 30_000],
};
// --config.file is read before the command runs: it is tested with a real file in cli.test.ts
const NOT_PARSED_HERE = new Set(['--config.file']);

/** Parse argv with every command's action replaced by one that records its options. */
async function parse(argv: string[]): Promise<{ cmd: Command; opts: Record<string, unknown> }> {
  const program = buildProgram(
    () => {},
    () => {},
  );
  let seen: { cmd: Command; opts: Record<string, unknown> } | undefined;
  for (const c of program.commands) c.action((...args: unknown[]) => void (seen = { cmd: c, opts: args[args.length - 2] as Record<string, unknown> }));
  await program.parseAsync(argv, { from: 'user' });
  return seen!;
}

/** What a command needs besides the flag under test: analyze a file, reconcile its mandatory --prometheus. */
const positional = (command: string, flag = ''): string[] =>
  command === 'analyze' ? ['x.pcap'] : command === 'reconcile' && flag !== '--prometheus' ? ['--prometheus', 'http://p:9090'] : [];
const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('AZTRAFFIC_') && !(k in saved)) delete process.env[k];
});

describe('every flag in the docs is accepted, by flag and by env, by each command it names', () => {
  const rows = flagTable();
  it('the table lists flags, their env vars and commands', () => {
    expect(rows.length).toBeGreaterThan(20);
    for (const r of rows) {
      expect(r.env, r.flag).toBe(envName(r.flag));
      expect(EXAMPLES[r.flag] ?? NOT_PARSED_HERE.has(r.flag), `an example value for ${r.flag}`).toBeTruthy();
    }
  });
  for (const r of rows.filter((x) => !NOT_PARSED_HERE.has(x.flag))) {
    for (const command of r.commands) {
      it(`${command} ${r.flag} / ${r.env}`, async () => {
        const [text, expected] = EXAMPLES[r.flag];
        const attr = r.flag.slice(2).replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
        const byFlag = await parse([command, ...positional(command, r.flag), r.flag, text]);
        expect(byFlag.cmd.name()).toBe(command);
        expect(byFlag.opts[attr]).toEqual(expected);
        expect(byFlag.cmd.getOptionValueSource(attr)).toBe('cli');
        process.env[r.env] = text;
        const byEnv = await parse([command, ...positional(command, r.flag)]);
        expect(byEnv.opts[attr]).toEqual(expected);
        expect(byEnv.cmd.getOptionValueSource(attr)).toBe('env');
      });
    }
  }
  it('commands the table does not name for a flag reject it', async () => {
    for (const r of rows) {
      for (const command of ['serve', 'analyze', 'demo', 'discover', 'reconcile'].filter((c) => !r.commands.includes(c))) {
        await expect(parse([command, ...positional(command), r.flag, EXAMPLES[r.flag]?.[0] ?? 'x']), `${command} ${r.flag}`).rejects.toThrow(/unknown option|too many arguments/);
      }
    }
  });
  it('every option a command has is in the table', () => {
    const program = buildProgram(
      () => {},
      () => {},
    );
    const documented = new Map(rows.map((r) => [r.flag, r.commands]));
    for (const c of program.commands) {
      for (const o of c.options) {
        if (o.long === '--help' || o.long === '--version') continue;
        expect(documented.get(o.long!), `${c.name()} ${o.long} is documented`).toContain(c.name());
      }
    }
  });
});
