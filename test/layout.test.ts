// The rooms of src/ import one way. The check is dependency-cruiser's (npm run lint); here it is shown
// to pass on the tree as it is and to fail on an import planted against the flow.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');

function cruise(tree: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: tree, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** The check on a copy of src/ with `planted` appended to one of its files: it must fail. */
function withPlanted(file: string, planted: string): { status: number | null; out: string } {
  const tree = copyOfSrc();
  appendFileSync(join(tree, 'src', file), planted);
  const r = cruise(tree);
  expect(r.status).not.toBe(0);
  return r;
}

function copyOfSrc(): string {
  const tree = tempDir();
  cpSync(join(ROOT, 'src'), join(tree, 'src'), { recursive: true });
  for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json']) cpSync(join(ROOT, f), join(tree, f));
  return tree;
}

describe('layout', () => {
  it('no cycle between folders or modules of src/', () => {
    const r = cruise(copyOfSrc());
    expect(r.out).toMatch(/no dependency violations found/);
    expect(r.status).toBe(0);
  }, 60_000);

  it('fails on an import planted against the flow (a leaf importing a room above it)', () => {
    const r = withPlanted('net/ip.ts', "\nimport type { TopologyFile } from '../topology/model.js';\nexport type Planted = TopologyFile;\n");
    expect(r.out).toMatch(/no-folder-cycle: src\/\w+ →/);
    expect(r.out).toContain('src/net');
  }, 60_000);

  it('fails on two modules of one folder that import each other', () => {
    const r = withPlanted('engine/counter-layout.ts', "\nimport { Engine } from './engine.js';\nexport const planted = Engine;\n");
    expect(r.out).toMatch(/no-module-cycle: src\/engine\//);
  }, 60_000);
});
