import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package version, read once from package.json next to dist/ or src/. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Root of the installed package (for bundled demo files). */
export const PACKAGE_ROOT = new URL('..', import.meta.url);

/** The bundled demo: capture, topology and ip-ranges fixture. */
export const DEMO_DIR = fileURLToPath(new URL('demo/', PACKAGE_ROOT));
