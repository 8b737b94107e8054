// The counters' values as data, and back: a running exporter of flow logs keeps them in its state file
// beside its cursor, so that after a restart its counters go on from where the last counted object left
// them (Prometheus sees no reset, and nothing is counted twice or lost).
import client from 'prom-client';

/** Counter name → its series (labels and value). */
export type CounterValues = Record<string, { labels: Record<string, string>; value: number }[]>;

/** Every counter of the exporter's own (aztraffic_) families, with its series. */
export async function counterValues(registry: client.Registry): Promise<CounterValues> {
  const out: CounterValues = {};
  for (const m of registry.getMetricsAsArray()) {
    if (!(m instanceof client.Counter)) continue;
    const got = await m.get();
    if (!got.name.startsWith('aztraffic_')) continue;
    out[got.name] = got.values.filter((v) => v.value !== 0 || Object.keys(v.labels).length > 0).map((v) => ({ labels: v.labels as Record<string, string>, value: v.value }));
  }
  return out;
}

/** Add kept values to the registry's counters (before anything is counted); returns the series restored and the names no counter has any more. */
export function restoreCounters(registry: client.Registry, values: CounterValues): { series: number; unknown: string[] } {
  let series = 0;
  const unknown: string[] = [];
  for (const [name, list] of Object.entries(values)) {
    const m = registry.getSingleMetric(name);
    if (!(m instanceof client.Counter)) {
      unknown.push(name);
      continue;
    }
    for (const v of list) {
      if (!(Number.isFinite(v.value) && v.value >= 0)) continue;
      m.inc(v.labels, v.value);
      series++;
    }
  }
  return { series, unknown };
}
