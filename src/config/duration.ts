import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Prometheus-style durations: "30s", "5m", "1h30m", "1d". Returns milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let end = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * UNITS[m[2]];
    end = (m.index ?? 0) + m[0].length;
  }
  if (text === '' || end !== text.length || total <= 0) {
    throw new InvalidArgumentError(`"${text}" is not a duration (e.g. 30s, 5m, 1h30m, 1d)`);
  }
  return total;
}
