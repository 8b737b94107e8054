// The command line as shipped: src/cli.ts bundled with its dependencies into dist/cli.js and chunks
// beside it, each command's code a chunk loaded when that command runs. Resolving and reading hundreds
// of small modules (zod alone is 60 files) was most of a start-up once the topology came from its cache.
// tsc's per-file output stays in dist/ for the modules run on their own (healthcheck.js) and for tests.
import { build } from 'esbuild';
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

const out = join(import.meta.dirname, '..', 'dist');
// chunks of an earlier build would linger and count in the compiled-topology cache's code digest
for (const f of readdirSync(out)) if (/^(chunk|[a-z-]+)-[A-Z0-9]{8}\.js(\.map)?$/.test(f)) unlinkSync(join(out, f));

await build({
  entryPoints: [
    { in: join(import.meta.dirname, '..', 'src', 'cli.ts'), out: 'cli' },
    // analyze's second thread (pipeline/parallel/parallel-read.ts looks for it beside its chunk)
    { in: join(import.meta.dirname, '..', 'src', 'pipeline', 'parallel', 'count-worker.ts'), out: 'count-worker' },
    // AWS discovery's thread, one per call (topology/aws-calls.ts looks for it beside its chunk)
    { in: join(import.meta.dirname, '..', 'src', 'topology', 'aws-worker.ts'), out: 'aws-worker' },
    // a large capture file's read-ahead thread (sources/read-ahead.ts looks for it beside its chunk)
    { in: join(import.meta.dirname, '..', 'src', 'sources', 'read-ahead-thread.ts'), out: 'read-ahead-thread' },
    // analyze's flow-log reading thread (sources/flow-logs/threaded.ts looks for it beside its chunk)
    { in: join(import.meta.dirname, '..', 'src', 'sources', 'flow-logs', 'flow-log-thread.ts'), out: 'flow-log-thread' },
    // bcrypt comparisons' thread (web/password-check.ts looks for it beside its chunk)
    { in: join(import.meta.dirname, '..', 'src', 'web', 'password-worker.ts'), out: 'password-worker' },
  ],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  logLevel: 'warning',
  // native, or large and needed only by serve's discovery and attribution: resolved from node_modules
  // DuckDB loads its platform's native binding by name: it stays a package, loaded when the engine is asked for
  external: ['cap', '@aws-sdk/*', '@smithy/*', '@kubernetes/client-node', 'express', '@duckdb/*'],
  // CommonJS dependencies (prom-client, commander) call require(): give the ESM chunks one
  banner: { js: "import { createRequire as __azCreateRequire } from 'node:module'; const require = __azCreateRequire(import.meta.url);" },
});
