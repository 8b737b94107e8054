// The systemd unit for plain EC2 hosts: valid for systemd, started before boot-time services, NET_RAW
// only, hardened.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const UNIT = join(import.meta.dirname, '..', 'packaging', 'systemd', 'az-traffic-exporter.service');
const dir = tempDir();

function directives(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const hit = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (hit) m.set(hit[1], [...(m.get(hit[1]) ?? []), hit[2]]);
  }
  return m;
}

describe('systemd unit', () => {
  it('systemd-analyze verify passes', () => {
    const copy = join(dir, 'az-traffic-exporter.service');
    copyFileSync(UNIT, copy);
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('systemd-analyze verify catches a broken unit (the check can fail)', () => {
    const broken = join(dir, 'broken.service');
    writeFileSync(broken, readFileSync(UNIT, 'utf8').replace('Type=simple', 'Type=sometimes').replace('ExecStart=/usr/bin/node', 'ExecStart=/usr/bin/no-such-node'));
    const r = spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Failed to parse service type/);
    expect(r.stdout + r.stderr).toMatch(/no-such-node is not executable/);
  });

  it('starts before boot-time package installs, as its own user with CAP_NET_RAW (and the two capabilities that name socket owners), and restarts', () => {
    const d = directives(readFileSync(UNIT, 'utf8'));
    const before = d.get('Before')!.join(' ').split(/\s+/);
    for (const u of ['cloud-init.service', 'cloud-config.service', 'cloud-final.service', 'apt-daily.service', 'network-pre.target']) expect(before).toContain(u);
    expect(d.get('DefaultDependencies')).toEqual(['no']);
    expect(d.get('DynamicUser')).toEqual(['yes']);
    expect(d.get('AmbientCapabilities')).toEqual(['CAP_NET_RAW CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SYS_NICE']);
    expect(d.get('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SYS_NICE']);
    // socket owners of other users: /proc must show their processes
    expect(d.get('ProtectProc')).toEqual(['default']);
    expect(d.get('NoNewPrivileges')).toEqual(['yes']);
    expect(d.get('Restart')).toEqual(['always']);
    expect(d.get('ProtectSystem')).toEqual(['strict']);
    expect(d.get('RestrictAddressFamilies')![0]).toContain('AF_PACKET');
  });
});

describe('Node.js >= 22 checks (unit and README)', () => {
  const asVersion = (version: string, script: string) =>
    spawnSync(process.execPath, ['-e', `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${version}' } });\n${script}`], { encoding: 'utf8' });

  it("the unit's ExecStartPre passes on this Node.js and stops Debian 12's 18 with words", () => {
    const pre = directives(readFileSync(UNIT, 'utf8')).get('ExecStartPre')![0];
    const script = /^\/usr\/bin\/node -e "(.*)"$/.exec(pre)![1];
    expect(asVersion(process.versions.node, script).status).toBe(0);
    expect(asVersion('20.20.2', script).status).toBe(1);
    const old = asVersion('18.19.0', script);
    expect(old.status).toBe(1);
    expect(old.stderr).toMatch(/needs Node.js >= 22; \/usr\/bin\/node is v/);
  });

  it("the README's version check does the same", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const script = /^node -e '(.*)'$/m.exec(readme)![1];
    expect(asVersion('22.0.0', script).status).toBe(0);
    expect(asVersion('20.20.2', script).status).toBe(1);
    const old = asVersion('18.19.0', script);
    expect(old.status).toBe(1);
    expect(old.stderr).toMatch(/is too old: need >= 22/);
  });
});
