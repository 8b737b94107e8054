import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root: the nearest folder above this module with our package.json. This module runs
 * from src/config/ (tests), dist/config/ (tsc's output) and dist/ (a bundled chunk), so no fixed depth.
 */
function packageName(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    // read, not asked for (existsSync is access(2), which ignores capabilities: a user with only
    // CAP_DAC_READ_SEARCH can read the file, yet is told it does not exist)
    if (packageName(join(dir, 'package.json')) === 'az-traffic-exporter') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`az-traffic-exporter: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

const ROOT = packageRoot();

/** The package version, read once from package.json. */
export const VERSION: string = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** AWS's ip-ranges.json as of the release, gzip'd: the last resort at a first boot without network. */
export const BUNDLED_IP_RANGES = join(ROOT, 'data', 'ip-ranges.json.gz');

/** The bundled demo: capture, topology and ip-ranges fixture. */
export const DEMO_DIR = join(ROOT, 'demo') + '/';
