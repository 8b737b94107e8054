// `demo`: serve fed by the bundled sample capture and topology.
import type { Command } from 'commander';
import { join } from 'node:path';
import { DEMO_DIR } from '../config/version.js';
import type { DemoOptions } from './demo.js';
import type { Running } from './running.js';
import { configureLog, countingFlags, opt, webFlags, type LogOptions } from './flags.js';

export function defineDemo(program: Command, onStop: (running: Running) => void): Command {
  const c = program
    .command('demo')
    .description('serve metrics fed by the bundled sample capture, replayed in a loop')
    .addOption(opt('--demo.capture <file>', 'capture to replay').default(join(DEMO_DIR, 'demo.pcapng')))
    .addOption(opt('--demo.sockets <file>', "the host's sockets when the capture was taken (ss -tunapH --cgroup): its flows' workloads").default(join(DEMO_DIR, 'sockets.txt')));
  countingFlags(webFlags(c), { topology: join(DEMO_DIR, 'topology.yaml'), ipRanges: join(DEMO_DIR, 'ip-ranges.json') });
  return c.action(async (o: DemoOptions & LogOptions) => {
    configureLog(o);
    const { demo } = await import('./demo.js');
    onStop(await demo(o));
  });
}
