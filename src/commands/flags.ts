// Flags shared by commands, and the ways every flag is made: each also reads AZTRAFFIC_<FLAG> (dots and
// dashes become underscores) and a --config.file setting of its own name. A command's own flags are
// declared beside it (<command>-flags.ts), loaded at start without the command's code.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isValidIp } from '../net/ip.js';
import { log, type LogFormat, type LogLevel } from '../config/log.js';
import { parseDuration } from '../config/duration.js';
import { IP_RANGES_URL } from '../topology/ip-ranges.js';

export function envName(flag: string): string {
  return 'AZTRAFFIC_' + flag.replace(/^--/, '').replace(/[.-]/g, '_').toUpperCase();
}

export function opt(flags: string, description: string): Option {
  const long = flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
  return new Option(flags, description).env(envName(long));
}

/** A true/false flag: parsed to a boolean wherever it is set (flag, env, config file). */
export function bool(flags: string, description: string, byDefault: boolean): Option {
  return opt(flags, description)
    .choices(['true', 'false'])
    .argParser((v: string): boolean => {
      if (v !== 'true' && v !== 'false') throw new InvalidArgumentError('expected true or false');
      return v === 'true';
    })
    .default(byDefault);
}

export function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/**
 * A moment: an RFC 3339 time or date (2026-12-06T08:00:00Z, 2026-12-06), or a duration before now (24h).
 * Returns seconds since the epoch.
 */
export function momentArg(v: string): number {
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : /(Z|[+-]\d{2}:?\d{2})$/.test(v) ? v : `${v}Z`);
    if (Number.isFinite(t)) return t / 1000;
  }
  try {
    return (Date.now() - parseDuration(v)) / 1000;
  } catch {
    throw new InvalidArgumentError(`"${v}" is neither a time (2026-12-06T08:00:00Z, 2026-12-06) nor a duration before now (24h)`);
  }
}

/** A sum of money in dollars: a non-negative decimal number. */
export function dollarsArg(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError('expected dollars as a non-negative number, e.g. 0.50');
  return n;
}

export function fileList(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function ipList(v: string, prev: string[] | undefined): string[] {
  const out = [...(prev ?? [])];
  for (const ip of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isValidIp(ip)) throw new InvalidArgumentError(`${JSON.stringify(ip)} is not an IP address`);
    out.push(ip);
  }
  return out;
}

export function duration(flags: string, description: string, ms: number, shown: string): Option {
  return opt(flags, description).argParser(parseDuration).default(ms, shown);
}

export interface LogOptions {
  'log.level': LogLevel;
  'log.format': LogFormat;
}

export function logFlags(c: Command): Command {
  return c
    .addOption(opt('--log.level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(opt('--log.format <format>', 'log format').choices(['logfmt', 'json']).default('logfmt'));
}

export function configureLog(o: LogOptions): void {
  log.configure(o['log.level'], o['log.format']);
}

/** The flags of every command that counts traffic: its inputs, its prices and its series' bounds. */
export function countingFlags(c: Command, defaults: { topology?: string; ipRanges?: string } = {}): Command {
  c.addOption(opt('--topology.file <file>', 'topology YAML: subnets, zones, public IPs, local IPs, route tables, NAT gateways, endpoints').default(defaults.topology))
    .addOption(opt('--ip-ranges.file <file>', "AWS's ip-ranges.json").default(defaults.ipRanges))
    .addOption(opt('--prices.file <file>', "prices YAML ($/GB by category and by usage type) over the built-in prices of the topology's region"))
    .addOption(opt('--remote.top-k <n>', 'remote series kept in aztraffic_remote_bytes_total; the rest is remote="other"').argParser(intIn(1, 100_000)).default(100))
    .addOption(
      opt('--remote.table-size <n>', 'distinct (remote, port) pairs counted between two flushes; beyond, bytes go to remote="other"')
        .argParser(intIn(16, 10_000_000))
        .default(65536),
    )
    .addOption(opt('--workload.top-k <n>', 'workload series kept in aztraffic_workload_bytes_total; the rest is workload="other"').argParser(intIn(1, 100_000)).default(100))
    .addOption(opt('--config.file <file>', 'YAML file of settings named like the long flags (flags and env win over it)'));
  return logFlags(c);
}

/** Where ip-ranges.json comes from when no --ip-ranges.file is given. */
export function ipRangesDownloadFlags(c: Command): Command {
  return c
    .addOption(opt('--ip-ranges.url <url>', 'where to download ip-ranges.json when no --ip-ranges.file is given ("none": never)').default(IP_RANGES_URL))
    .addOption(opt('--ip-ranges.cache <file>', 'copy of the last downloaded ip-ranges.json: written after a download, read when it fails'));
}

export function localIpFlag(c: Command, description: string): Command {
  return c.addOption(opt('--local-ip <ip>', description).argParser(ipList));
}

function telemetryPath(v: string): string {
  if (!v.startsWith('/')) throw new InvalidArgumentError('must start with "/"');
  return v;
}

export function webFlags(c: Command): Command {
  return c
    .addOption(opt('--web.listen-address <addr>', 'address to listen on for HTTP').default(':9977'))
    .addOption(opt('--web.telemetry-path <path>', 'path under which to expose metrics').argParser(telemetryPath).default('/metrics'))
    .addOption(opt('--web.config.file <file>', 'exporter-toolkit web configuration: TLS, client certificates, basic auth, headers (reloaded on change and SIGHUP)'));
}
