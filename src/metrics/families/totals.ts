import type { Counter } from 'prom-client';

/**
 * Sources keep running totals; a counter must only be increased. This remembers what each series was
 * given so far and adds the difference (a total that went down, e.g. after a restart of its source, is
 * taken as the new base and adds nothing).
 */
export class Totals<L extends string> {
  private readonly given = new Map<string, number>();

  constructor(private readonly counter: Counter<L>) {}

  set(labels: Partial<Record<L, string>>, total: number): void {
    const key = JSON.stringify(labels);
    const before = this.given.get(key) ?? 0;
    if (total > before) this.counter.inc(labels, total - before);
    else if (before === 0) this.counter.inc(labels, 0);
    this.given.set(key, Math.max(total, before));
  }
}
