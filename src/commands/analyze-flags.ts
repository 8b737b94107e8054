// `analyze`: its flags and how it runs, loading the command's code only then.
import type { Command } from 'commander';
import type { AnalyzeOptions } from './analyze.js';
import { FORMAT_NAMES } from './analyze-formats.js';
import { configureLog, countingFlags, dollarsArg, fileList, ipRangesDownloadFlags, localIpFlag, momentArg, opt, type LogOptions } from './flags.js';

export function defineAnalyze(program: Command, out: (s: string) => void): Command {
  const c = program
    .command('analyze')
    .description('analyse captures (pcap, pcapng) and VPC flow logs (text, .gz, Parquet; files, folders, s3://BUCKET/PREFIX) offline')
    .argument('[file...]', 'capture files, flow-log files, folders of them, or s3://BUCKET/PREFIX (told apart by content); none with --flow-logs.engine athena')
    .addOption(opt('--format <format>', 'output format (html: one self-contained page)').choices(FORMAT_NAMES).default('table'))
    .addOption(
      opt('--read.parallel <mode>', 'read a pcap or pcapng file in two threads (auto: files of 256 MiB or more, given a second core), and read flow-log files in one thread per core, up to 4, beside the counting one (auto: given a second core); bytes and packets are always those of one thread (flow logs\' dollars may differ in the 16th digit: sums in another order)')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .addOption(opt('--flow-logs.since <time>', 'flow-log objects and files whose key time (AWS layout: …/YYYY/MM/DD/…_YYYYMMDDTHHMMZ_…) is at or after this: 2026-12-06T08:00:00Z, 2026-12-06, or a duration before now (24h)').argParser(momentArg))
    .addOption(opt('--flow-logs.until <time>', 'flow-log objects and files whose key time is before this (same forms as --flow-logs.since)').argParser(momentArg))
    .addOption(
      opt('--flow-logs.engine <engine>', 'what reads flow logs: stream (this program\'s own parser, record by record, a second thread parsing), duckdb (embedded DuckDB sums them per interface, addresses, service port, direction and path first; the same figures) or athena (Athena sums the table --athena.table names, with the same SQL)')
        .choices(['stream', 'duckdb', 'athena'])
        .default('stream'),
    )
    .addOption(opt('--athena.workgroup <name>', 'the Athena workgroup of the query (--flow-logs.engine athena)').default('primary'))
    .addOption(opt('--athena.database <name>', 'the Glue database of the flow-log table').default('default'))
    .addOption(opt('--athena.table <name>', 'the table over the flow-log bucket (its CREATE EXTERNAL TABLE: docs/flow-logs.md)'))
    .addOption(opt('--athena.output <s3url>', "where Athena writes the query's results (s3://BUCKET/PREFIX/); default: the workgroup's"))
    .addOption(opt('--athena.day-column <name>', 'the table\'s partition column of days (partition projection, yyyy/MM/dd): --flow-logs.since/until read only those days ("": no partition filter)').default('day'))
    .addOption(opt('--max-dollars-per-hour <dollars>', "a guard for CI: exit 1 when the capture's bill lines cost more than this per hour (the report is printed first)").argParser(dollarsArg))
    .addOption(opt('--pods <file>', "pods of the cluster (kubectl get pods -A -o json; repeatable, comma-separated in the env var: snapshots over the capture's time): bytes of the capturing host's pods are attributed to the pod that held the address then; in flow logs, a pod's address on a logged interface names its pod").argParser(fileList))
    .addOption(
      opt(
        '--cache.dir <dir>',
        'where compiled topologies (the topology and ip-ranges files as lookup tables, keyed by their contents) are kept for the next start ("none": not kept; default: $XDG_CACHE_HOME/az-traffic-exporter, else ~/.cache/az-traffic-exporter)',
      ),
    );
  localIpFlag(c, "this host's address (repeatable; default: topology local_ips, else guessed)");
  ipRangesDownloadFlags(c);
  countingFlags(c);
  return c.action(async (files: string[], o: AnalyzeOptions & LogOptions) => {
    configureLog(o);
    const { analyze } = await import('./analyze.js');
    // a file that could not be read to its end: the report is printed, the exit code says it is partial
    process.exitCode = await analyze(files, o, out);
  });
}
