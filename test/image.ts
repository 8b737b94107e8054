// The image the container test runs, built from the Dockerfile on a Debian base made here with
// debootstrap (no image can be pulled). Building takes minutes on vfs, mostly the Docker daemon copying
// file systems: CI starts it when the suite starts (global-setup.ts runs this file as a program) so that
// it overlaps the other files' tests; run alone, the container test builds it itself.
import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
export const BASE = 'aztraffic-base:test';
export const BUILD_BASE = 'aztraffic-build-base:test';
export const IMAGE = 'aztraffic:test';

export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The headers of the running Node.js: npm's nodedir (CI points it at the Node it installs), then beside
 * the binary (Debian: /usr/bin/node, /usr/include/node) or in the npm `node` package's platform package;
 * the one whose node_version.h is this version.
 */
function nodeHeaders(nodeBin: string): string {
  const [major, minor, patch] = process.versions.node.split('.');
  const candidates = [
    process.env.npm_config_nodedir,
    join(dirname(nodeBin), '..'),
    join(dirname(nodeBin), '..', 'node_modules', `node-linux-${process.arch}`),
    '/usr',
  ].filter((d): d is string => d !== undefined && d !== '');
  for (const d of candidates) {
    const header = join(d, 'include', 'node', 'node_version.h');
    if (!existsSync(header)) continue;
    const h = readFileSync(header, 'utf8');
    const v = (name: string): string | undefined => new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(h)?.[1];
    if (v('MAJOR') === major && v('MINOR') === minor && v('PATCH') === patch) return join(d, 'include', 'node');
  }
  throw new Error(`no headers of Node.js ${process.version} in ${candidates.join(', ')}`);
}

/**
 * A Debian bookworm base with this machine's Node.js, standing in for node:*-slim (no image can be
 * pulled here). This machine's registries sit behind a TLS proxy: its CA bundle goes in too, Node's
 * headers, which node-gyp would otherwise download, and the npm cache (the build then runs in minutes).
 */
function buildBase(): void {
  const rootfs = join(tmpdir(), 'aztraffic-debootstrap-bookworm');
  if (!existsSync(join(rootfs, 'usr', 'bin', 'apt-get'))) {
    rmSync(rootfs, { recursive: true, force: true });
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian'], { stdio: 'ignore' });
  }
  // the Node.js that runs the tests (CI installs the supported floor from the npm registry's `node`)
  const nodeBin = realpathSync(process.execPath);
  cpSync(nodeBin, join(rootfs, 'usr', 'bin', 'node'));
  const npmDir = join(rootfs, 'usr', 'lib', 'node_modules', 'npm');
  rmSync(npmDir, { recursive: true, force: true });
  cpSync('/usr/lib/node_modules/npm', npmDir, { recursive: true });
  for (const [bin, target] of [
    ['npm', '../lib/node_modules/npm/bin/npm-cli.js'],
    ['npx', '../lib/node_modules/npm/bin/npx-cli.js'],
  ]) {
    rmSync(join(rootfs, 'usr', 'bin', bin), { force: true });
    symlinkSync(target, join(rootfs, 'usr', 'bin', bin));
  }
  cpSync('/etc/ssl/certs/ca-certificates.crt', join(rootfs, 'etc', 'ssl', 'certs', 'ca-certificates.crt'));
  // that Node's headers for native addons (node-gyp cannot download them here)
  cpSync(nodeHeaders(nodeBin), join(rootfs, 'usr', 'include', 'node'), { recursive: true });
  mkdirSync(join(rootfs, 'usr', 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'usr', 'etc', 'npmrc'), 'cafile=/etc/ssl/certs/ca-certificates.crt\nnodedir=/usr\nprefer-offline=true\n');
  // and this machine's npm cache, so that the image build's npm ci does not download what is here
  const cache = join(homedir(), '.npm', '_cacache');
  const cacheCopy = join(rootfs, 'root', '.npm', '_cacache');
  rmSync(cacheCopy, { recursive: true, force: true });
  if (existsSync(cache)) cpSync(cache, cacheCopy, { recursive: true });
  execSync(`tar -C '${rootfs}' -c . | docker import - ${BUILD_BASE}`, { stdio: 'ignore' });
  // the runtime base: the same system and Node.js, without npm, headers, caches, apt lists or docs
  const lean = ['./root/.npm', './usr/include/node', './usr/lib/node_modules', './var/lib/apt/lists', './usr/share/doc', './usr/share/man', './usr/share/locale'];
  execSync(`tar -C '${rootfs}' ${lean.map((x) => `--exclude='${x}'`).join(' ')} -c . | docker import - ${BASE}`, { stdio: 'ignore' });
}

export const imageIds = (...filters: string[]): string[] =>
  execFileSync('docker', ['images', '-qa', '--no-trunc', ...filters.flatMap((f) => ['--filter', f])], { encoding: 'utf8' }).split('\n').filter(Boolean);


/** What a build in the background left: the images there before it (the clean-up leaves them), or why it failed. */
interface BuildStatus {
  before: string[];
  error?: string;
}

/** Base and image built; returns the image ids there before. */
export function buildImage(): string[] {
  const before = imageIds();
  buildBase();
  // its own errors kept, to be said where it fails
  execFileSync('docker', ['build', '--network', 'host', '--build-arg', `BASE_IMAGE=${BASE}`, '--build-arg', `BUILD_IMAGE=${BUILD_BASE}`, '-t', IMAGE, ROOT], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  return before;
}

/**
 * The image, built: by the build started with the suite (its status file, waited for), else here and now.
 * Returns the image ids there before it.
 */
export async function builtImage(statusFile: string | undefined): Promise<Set<string>> {
  if (statusFile === undefined) return new Set(buildImage());
  for (let waited = 0; !existsSync(statusFile); waited += 1000) {
    if (waited > 15 * 60_000) throw new Error(`the image build started with the suite wrote no ${statusFile} in 15 minutes`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const status = JSON.parse(readFileSync(statusFile, 'utf8')) as BuildStatus;
  if (status.error !== undefined) throw new Error(`the image build failed: ${status.error}`);
  return new Set(status.before);
}

// as a program: build, then say how it went in the file named (written whole: a rename)
if (process.argv[1] === import.meta.filename && process.argv[2] !== undefined) {
  const out = process.argv[2];
  let status: BuildStatus;
  try {
    status = { before: buildImage() };
  } catch (e) {
    const lines = ((e as Error).message ?? String(e)).trim().split('\n');
    status = { before: [], error: [lines[0], ...lines.slice(1).slice(-3)].join(' / ') };
  }
  writeFileSync(`${out}.tmp`, JSON.stringify(status));
  renameSync(`${out}.tmp`, out);
}
