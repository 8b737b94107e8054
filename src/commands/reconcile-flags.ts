// `reconcile`: the bill beside what the exporters measured.
import type { Command } from 'commander';
import type { ReconcileOptions } from './reconcile.js';
import { configureLog, duration, fileList, logFlags, opt, type LogOptions } from './flags.js';

export function defineReconcile(program: Command, out: (s: string) => void): Command {
  const c = program
    .command('reconcile')
    .description('the bill (a CUR or FOCUS export) beside what the exporters measured (Prometheus), per account, usage type and resource')
    .addOption(opt('--cur <file>', 'bill export: CUR 2.0 Parquet, legacy CUR CSV/CSV.gz, or FOCUS 1.0 (repeatable; comma-separated in the env var)').argParser(fileList))
    .addOption(opt('--prometheus <url>', 'Prometheus (or compatible) base URL holding aztraffic_usage_bytes_total').makeOptionMandatory())
    .addOption(duration('--range <duration>', 'the range compared, ending at --end', 30 * 86_400_000, '30d'))
    .addOption(opt('--end <time>', 'end of the range: RFC 3339 or seconds since the epoch (default: now)'))
    .addOption(opt('--format <format>', 'output format').choices(['table', 'json']).default('table'));
  return logFlags(c).action(async (o: Omit<ReconcileOptions, 'cur'> & { cur?: string[] } & LogOptions) => {
    configureLog(o);
    const { reconcile, renderReconciliation } = await import('./reconcile.js');
    const r = await reconcile({ ...o, cur: o.cur ?? [] });
    out(o.format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderReconciliation(r));
  });
}
