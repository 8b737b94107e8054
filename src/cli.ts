#!/usr/bin/env node
// flags → config → run. Every flag also reads AZTRAFFIC_<FLAG> (dots and dashes become underscores).
// Exit codes: 0 ok, 2 usage or config error (one line naming the fault), 1 anything unexpected.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import nodeModule from 'node:module';
import v8 from 'node:v8';
import { join } from 'node:path';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { AnalyzeOptions } from './commands/analyze.js';
import type { DemoOptions } from './commands/demo.js';
import type { ReconcileOptions } from './commands/reconcile.js';
import type { Running } from './commands/running.js';
import type { ServeOptions } from './commands/serve.js';
import { POD_OWNER_KINDS, type PodOwnerKind } from './attribution/workloads.js';
import { parseDuration } from './config/duration.js';
import { IP_RANGES_URL } from './topology/ip-ranges.js';
import { ConfigError } from './config/errors.js';
import { isValidIp } from './net/ip.js';
import { log, type LogFormat, type LogLevel } from './config/log.js';
import { DEMO_DIR, VERSION } from './config/version.js';

const PROG = 'az-traffic-exporter';

export function envName(flag: string): string {
  return 'AZTRAFFIC_' + flag.replace(/^--/, '').replace(/[.-]/g, '_').toUpperCase();
}

function opt(flags: string, description: string): Option {
  const long = flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
  return new Option(flags, description).env(envName(long));
}

function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function fileList(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

function ipList(v: string, prev: string[] | undefined): string[] {
  const out = [...(prev ?? [])];
  for (const ip of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isValidIp(ip)) throw new InvalidArgumentError(`${JSON.stringify(ip)} is not an IP address`);
    out.push(ip);
  }
  return out;
}

function fixedWorkload(v: string): { namespace: string; kind: PodOwnerKind; name: string } {
  const m = /^([^/]*)\/([^/]+)\/([^/]+)$/.exec(v);
  const kind = POD_OWNER_KINDS.find((k) => k === m?.[2]);
  if (!m || !kind) throw new InvalidArgumentError(`expected NAMESPACE/KIND/NAME with KIND one of ${POD_OWNER_KINDS.join(', ')}`);
  return { namespace: m[1], kind, name: m[3] };
}

function addCommon(c: Command, defaults: { topology?: string; ipRanges?: string } = {}): Command {
  c.addOption(opt('--topology.file <file>', 'topology YAML: subnets, zones, public IPs, local IPs').default(defaults.topology))
    .addOption(opt('--ip-ranges.file <file>', "AWS's ip-ranges.json").default(defaults.ipRanges))
    .addOption(opt('--prices.file <file>', 'prices YAML overriding the built-in us-east-1 prices'))
    .addOption(opt('--remote.top-k <n>', 'remote series kept in aztraffic_remote_bytes_total; the rest is remote="other"').argParser(intIn(1, 100_000)).default(100))
    .addOption(
      opt('--remote.table-size <n>', 'distinct (remote, port) pairs counted between two flushes; beyond, bytes go to remote="other"')
        .argParser(intIn(16, 10_000_000))
        .default(65536),
    )
    .addOption(opt('--workload.top-k <n>', 'workload series kept in aztraffic_workload_bytes_total; the rest is workload="other"').argParser(intIn(1, 100_000)).default(100))
    .addOption(opt('--config.file <file>', 'YAML file of settings named like the long flags (flags and env win over it)'));
  logOptions(c);
  return c;
}

function logOptions(c: Command): Command {
  return c
    .addOption(opt('--log.level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(opt('--log.format <format>', 'log format').choices(['logfmt', 'json']).default('logfmt'));
}

function telemetryPath(v: string): string {
  if (!v.startsWith('/')) throw new InvalidArgumentError('must start with "/"');
  return v;
}

function configureLog(o: { 'log.level': LogLevel; 'log.format': LogFormat }): void {
  log.configure(o['log.level'], o['log.format']);
}

export function buildProgram(out: (s: string) => void, onStop: (running: Running) => void): Command {
  const program = new Command(PROG)
    .description('Prometheus exporter of AWS data-transfer cost: every packet labelled by billing category, zone and remote')
    .version(VERSION, '--version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`${PROG}: ${s.replace(/^error: /, '').trim()}\n`) })
    .hook('preAction', async (_program, command) => {
      // the YAML and schema libraries only for a command given a config file
      if (command.getOptionValue('config.file') !== undefined) (await import('./config/config-file.js')).applyConfigFile(command);
    });

  const web = (c: Command): Command =>
    c
      .addOption(opt('--web.listen-address <addr>', 'address to listen on for HTTP').default(':9977'))
      .addOption(opt('--web.telemetry-path <path>', 'path under which to expose metrics').argParser(telemetryPath).default('/metrics'))
      .addOption(opt('--web.config.file <file>', 'exporter-toolkit web configuration: TLS, client certificates, basic auth, headers (reloaded on change and SIGHUP)'));

  addCommon(
    web(
      program
        .command('serve', { isDefault: true })
        .description('capture live and serve metrics (the default command)')
        .argument('[command]', '', undefined)
        .addOption(opt('--interface <name>', 'interface to capture on, or "any" (default: the interface of the default route)'))
        .addOption(opt('--capture.filter <bpf>', 'BPF filter of the counted packets').default(''))
        .addOption(opt('--capture.buffer-bytes <n>', 'kernel capture buffer; below 64 MiB packets drop at ~300k packets/s').argParser(intIn(1 << 20, 2 ** 31 - 1)).default(64 << 20))
        .addOption(opt('--capture.snaplen <n>', 'bytes of each packet copied for counting (headers)').argParser(intIn(64, 65535)).default(192))
        .addOption(opt('--capture.dns <bool>', 'learn remote names from DNS responses (a second capture handle)').choices(['true', 'false']).default('true'))
        .addOption(opt('--local-ip <ip>', "more addresses of this host (repeatable; the interface's own are always local)").argParser(ipList))
        .addOption(opt('--web.shutdown-grace <seconds>', 'after SIGTERM, keep serving the last counts this long').argParser(intIn(0, 300)).default(5))
        .addOption(opt('--metrics.flush-interval <seconds>', 'move counts into the registry at least this often').argParser(intIn(1, 300)).default(10))
        .addOption(opt('--aws.discovery <bool>', 'learn the topology from IMDSv2 and the EC2 API (the topology file wins where both speak)').choices(['true', 'false']).default('true'))
        .addOption(opt('--topology.refresh-interval <duration>', 'how often to refresh the EC2 topology').argParser(parseDuration).default(300_000, '5m'))
        .addOption(opt('--ip-ranges.url <url>', 'where to download ip-ranges.json when no --ip-ranges.file is given ("none": never)').default(IP_RANGES_URL))
        .addOption(opt('--ip-ranges.cache <file>', 'copy of the last downloaded ip-ranges.json, used at start when the download fails'))
        .addOption(opt('--ip-ranges.refresh-interval <duration>', 'how often to download ip-ranges.json again').argParser(parseDuration).default(86_400_000, '24h'))
        .addOption(opt('--workload.attribution <bool>', 'count bytes per workload (pod, systemd unit, process): aztraffic_workload_bytes_total').choices(['true', 'false']).default('true'))
        .addOption(opt('--workload.processes <bool>', "attribute the host's own addresses to the processes of their sockets through /proc (needs the host's PID namespace)").choices(['true', 'false']).default('true'))
        .addOption(opt('--workload.flow-table-size <n>', "flows of the host's own addresses tracked for attribution; beyond, new flows are workload_kind=\"unknown\"").argParser(intIn(1024, 16_777_216)).default(65536))
        .addOption(opt('--workload.fixed <namespace/kind/name>', 'sidecar: every byte belongs to this workload (e.g. shop/Deployment/checkout)').argParser(fixedWorkload))
        .addOption(opt('--kubernetes.node-name <name>', "watch this node's pods (in-cluster service account, else KUBECONFIG) and attribute their bytes")),
    ),
  ).action(async (extra: string | undefined, o: Omit<ServeOptions, 'capture.dns' | 'aws.discovery' | 'workload.attribution' | 'workload.processes'> & { 'capture.dns': string; 'aws.discovery': string; 'workload.attribution': string; 'workload.processes': string; 'log.level': LogLevel; 'log.format': LogFormat }) => {
    // serve is the default command: a word it does not know is a mistyped command
    if (extra !== undefined) throw new ConfigError(`unknown command '${extra}' (commands: ${program.commands.map((c) => c.name()).join(', ')})`);
    configureLog(o);
    // commands load what they need when they run: the AWS SDK alone takes longer to import than analyze needs to start
    const { serve } = await import('./commands/serve.js');
    onStop(
      await serve({
        ...o,
        'capture.dns': o['capture.dns'] === 'true',
        'aws.discovery': o['aws.discovery'] === 'true',
        'workload.attribution': o['workload.attribution'] === 'true',
        'workload.processes': o['workload.processes'] === 'true',
      }),
    );
  });

  addCommon(
    program
      .command('analyze')
      .description('analyse pcap/pcapng files offline')
      .argument('<file...>', 'pcap or pcapng capture files')
      .addOption(opt('--local-ip <ip>', "this host's address (repeatable; default: topology local_ips, else guessed)").argParser(ipList))
      .addOption(opt('--format <format>', 'output format (html: one self-contained page)').choices(['table', 'json', 'prometheus', 'html']).default('table'))
      .addOption(
        opt('--read.parallel <mode>', 'read a pcap or pcapng file in two threads (auto: files of 256 MiB or more, given a second core; the counts are always those of one thread)')
          .choices(['auto', 'on', 'off'])
          .default('auto'),
      )
      .addOption(opt('--pods <file>', 'pods of the cluster (kubectl get pods -A -o json): bytes of the capturing host\'s pods are attributed to their workloads'))
      .addOption(opt('--ip-ranges.url <url>', 'where to download ip-ranges.json when no --ip-ranges.file is given ("none": never)').default(IP_RANGES_URL))
      .addOption(opt('--ip-ranges.cache <file>', 'copy of the last downloaded ip-ranges.json: written after a download, read when it fails'))
      .addOption(
        opt(
          '--cache.dir <dir>',
          'where compiled topologies (the topology and ip-ranges files as lookup tables, keyed by their contents) are kept for the next start ("none": not kept; default: $XDG_CACHE_HOME/az-traffic-exporter, else ~/.cache/az-traffic-exporter)',
        ),
      ),
  ).action(async (files: string[], o: AnalyzeOptions & { 'log.level': LogLevel; 'log.format': LogFormat }) => {
    configureLog(o);
    const { analyze } = await import('./commands/analyze.js');
    // a file that could not be read to its end: the report is printed, the exit code says it is partial
    process.exitCode = await analyze(files, o, out);
  });

  addCommon(
    web(program.command('demo').description('serve metrics fed by the bundled sample capture, replayed in a loop')).addOption(
      opt('--demo.capture <file>', 'capture to replay').default(join(DEMO_DIR, 'demo.pcapng')),
    ),
    { topology: join(DEMO_DIR, 'topology.yaml'), ipRanges: join(DEMO_DIR, 'ip-ranges.json') },
  ).action(async (o: DemoOptions & { 'log.level': LogLevel; 'log.format': LogFormat }) => {
    configureLog(o);
    const { demo } = await import('./commands/demo.js');
    onStop(await demo(o));
  });
  logOptions(
    program
      .command('reconcile')
      .description('the bill (a Cost and Usage Report export) beside what the exporters measured (Prometheus), usage type by usage type')
      .addOption(opt('--cur <file>', 'CUR export: CUR 2.0 Parquet or legacy CSV/CSV.gz (repeatable; comma-separated in the env var)').argParser(fileList))
      .addOption(opt('--prometheus <url>', 'Prometheus (or compatible) base URL holding aztraffic_usage_bytes_total').makeOptionMandatory())
      .addOption(opt('--range <duration>', 'the range compared, ending at --end').argParser(parseDuration).default(30 * 86_400_000, '30d'))
      .addOption(opt('--end <time>', 'end of the range: RFC 3339 or seconds since the epoch (default: now)'))
      .addOption(opt('--format <format>', 'output format').choices(['table', 'json']).default('table')),
  ).action(async (o: Omit<ReconcileOptions, 'cur'> & { cur?: string[]; 'log.level': LogLevel; 'log.format': LogFormat }) => {
    configureLog(o);
    const { reconcile, renderReconciliation } = await import('./commands/reconcile.js');
    const r = await reconcile({ ...o, cur: o.cur ?? [] });
    out(o.format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderReconciliation(r));
  });
  logOptions(program.command('discover').description('print the topology from IMDSv2 and the EC2 API as topology YAML (for --topology.file)')).action(async (o: { 'log.level': LogLevel; 'log.format': LogFormat }) => {
      configureLog(o);
      const { discover } = await import('./commands/discover.js');
      await discover(out);
    });
  return program;
}

/** Run the CLI; resolves to the exit code (long-running commands resolve once serving). */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let running: Running | undefined;
  const program = buildProgram(out, (r) => (running = r));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${PROG}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  if (running) {
    const r = running;
    const shutdown = (signal: string): void => {
      log.info(`${signal}: shutting down`);
      void r.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    // SIGHUP would end the process by default: re-read the web configuration instead; other files
    // (topology, prices) are read at start, and the topology sources refresh themselves
    process.on('SIGHUP', () => {
      log.info('SIGHUP: reloading --web.config.file (other files need a restart)');
      r.reload();
    });
  }
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  // Node 22.1+ keeps V8's compiled code of the chunks a command loads between runs; Node 20 has no such cache
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  // The heap grows by a fifth past its live size at most, not up to 4×: under a flood of new remotes and
  // DNS names the tables' evicted entries are garbage that V8 would otherwise let pile up (peak RSS
  // 219 → 167 MB on 1 M remotes and 200k names, same run time; npm run bench). The hot path allocates
  // nothing, so it never pays for the extra collections. (Holding the young generation at its first
  // size as well, --semi-space-growth-factor=1, gave 124 MB but made serve hang at start when its
  // capture failed: V8 does not promise its flags after start.)
  v8.setFlagsFromString('--heap-growing-percent=20');
  main(process.argv.slice(2)).then(
    (code) => {
      // a finished command exits now: SDK keep-alive sockets would hold the process for seconds
      if (!process.listenerCount('SIGTERM')) process.stdout.write('', () => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`${PROG}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
