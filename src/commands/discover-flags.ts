// `discover`: the topology from IMDSv2 and the EC2 API, printed as a topology file.
import type { Command } from 'commander';
import { configureLog, logFlags, type LogOptions } from './flags.js';

export function defineDiscover(program: Command, out: (s: string) => void): Command {
  return logFlags(program.command('discover').description('print the topology from IMDSv2 and the EC2 API as topology YAML (for --topology.file)')).action(async (o: LogOptions) => {
    configureLog(o);
    const { discover } = await import('./discover.js');
    await discover(out);
  });
}
