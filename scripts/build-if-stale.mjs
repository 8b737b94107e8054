// The benchmarks' build step: `npm run build` unless dist/ is newer than every source it is built from
// (a benchmark run right after a build, or the test suite's runs of the README's bench commands, need
// not build again: ~10 s each).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const root = join(import.meta.dirname, '..');
const built = join(root, 'dist', 'cli.js');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
  return t;
}

const sources = ['src', 'scripts/bundle.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].map((p) => join(root, p)).filter(existsSync);
if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) {
  process.stderr.write('dist/ is newer than its sources: not built again\n');
  process.exit(0);
}
const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
