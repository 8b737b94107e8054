#!/usr/bin/env node
// flags → config → run. Every flag also reads AZTRAFFIC_<FLAG> (dots and dashes become underscores).
// Exit codes: 0 ok, 2 usage or config error (one line naming the fault), 1 anything unexpected.
import { Command, CommanderError } from 'commander';
import nodeModule from 'node:module';
import v8 from 'node:v8';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Running } from './commands/running.js';
import { defineAnalyze } from './commands/analyze-flags.js';
import { defineCompletion } from './commands/completion-flags.js';
import { defineDemo } from './commands/demo-flags.js';
import { defineDiscover } from './commands/discover-flags.js';
import { defineReconcile } from './commands/reconcile-flags.js';
import { defineServe } from './commands/serve-flags.js';
import { ConfigError } from './config/errors.js';
import { log } from './config/log.js';
import { VERSION } from './config/version.js';

export { envName } from './commands/flags.js';

const PROG = 'az-traffic-exporter';

export function buildProgram(out: (s: string) => void, onStop: (running: Running) => void): Command {
  const program = new Command(PROG)
    .description('Prometheus exporter of AWS data-transfer cost: every packet labelled by billing category, zone and remote')
    .version(VERSION, '-v, --version')
    .showHelpAfterError(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    // one line per fault: commander's "(Did you mean …?)" joins the line it follows
    .configureOutput({ outputError: (s, write) => write(`${PROG}: ${s.replace(/^error: /, '').trim().replace(/\n+/g, ' ')}\n`) })
    .hook('preAction', async (_program, command) => {
      // the YAML and schema libraries only for a command given a config file
      if (command.getOptionValue('config.file') !== undefined) (await import('./config/config-file.js')).applyConfigFile(command);
    });
  // each command declares its own flags (commands/<name>-flags.ts) and loads its code when it runs
  defineServe(program, onStop);
  defineAnalyze(program, out);
  defineDemo(program, onStop);
  defineReconcile(program, out);
  defineDiscover(program, out);
  defineCompletion(program, PROG, out);
  return program;
}

/**
 * The arguments with the default command made explicit: none, or flags first, run `serve`; a first
 * word that is no command stays, so that commander names it and suggests the command meant.
 */
export function withDefaultCommand(argv: string[]): string[] {
  const first = argv[0];
  if (first === undefined) return ['serve'];
  if (first.startsWith('-') && !['-h', '--help', '-v', '--version'].includes(first)) return ['serve', ...argv];
  return argv;
}

/** Run the CLI; resolves to the exit code (long-running commands resolve once serving). */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let running: Running | undefined;
  const program = buildProgram(out, (r) => (running = r));
  try {
    await program.parseAsync(withDefaultCommand(argv), { from: 'user' });
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
  // the floor the package declares (engines): said in one line, before any library says it its own way
  if (Number(process.versions.node.split('.')[0]) < 22) {
    process.stderr.write(`${PROG}: needs Node.js >= 22; this is ${process.version}\n`);
    process.exit(2);
  }
  // Node 22.1+ keeps V8's compiled code of the chunks a command loads between runs
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
