// The rule, alert and Alertmanager files, checked and unit-tested by the real tools.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', 'prometheus');

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: DIR, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('prometheus/ files', () => {
  it('promtool check rules: rules.yml, alerts.yml and fleet-rules.yml are valid and lint-clean', () => {
    const r = run('promtool', ['check', 'rules', 'rules.yml', 'alerts.yml', 'fleet-rules.yml']);
    expect(r.out).not.toMatch(/FAILED|lint/);
    expect(r.status, r.out).toBe(0);
  });

  it('promtool test rules: every recording rule and alert has a firing and a quiet case', () => {
    const r = run('promtool', ['test', 'rules', 'rules.test.yml', 'alerts.test.yml', 'weekly-alerts.test.yml', 'savings-alerts.test.yml', 'fleet-rules.test.yml']);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/SUCCESS/g)).toHaveLength(5);
  }, 120_000);

  it('the example prometheus.yml, remote-write.yml and alertmanager.yml are valid', () => {
    const p = run('promtool', ['check', 'config', 'prometheus.yml']);
    expect(p.status, p.out).toBe(0);
    const w = run('promtool', ['check', 'config', 'remote-write.yml']);
    expect(w.status, w.out).toBe(0);
    const a = run('amtool', ['check-config', 'alertmanager.yml']);
    expect(a.status, a.out).toBe(0);
  });
});
