// The topology in force and the health of its sources: subnets and last success per source, failed
// refreshes, and which zone name is which zone ID. Read from TopologyStatus on every scrape.
import client from 'prom-client';
import type { TopologyStatus } from '../../topology/status.js';
import type { MetricFamily } from './family.js';
import type { Topology } from '../../topology/topology.js';

export class TopologyFamily implements MetricFamily {
  private readonly zoneInfo: client.Gauge<'zone' | 'zone_id'>;
  private readonly hostInfo: client.Gauge<'account_id' | 'region' | 'instance_id' | 'interfaces'>;

  constructor(registers: client.Registry[], status: TopologyStatus) {
    new client.Gauge({
      name: 'aztraffic_topology_subnets',
      help: 'Subnets known to the topology, by source.',
      labelNames: ['source'],
      registers,
      collect() {
        for (const [source, s] of status.sources) if (s.entries !== undefined) this.set({ source }, s.entries);
      },
    });
    new client.Gauge({
      name: 'aztraffic_topology_last_success_timestamp_seconds',
      help: 'Unix time of the last successful topology load, by source.',
      labelNames: ['source'],
      registers,
      collect() {
        for (const [source, s] of status.sources) if (s.lastSuccess !== undefined) this.set({ source }, s.lastSuccess);
      },
    });
    new client.Gauge({
      name: 'aztraffic_topology_source_answered',
      help: 'Whether a topology source has answered since start (1; or is off here), or never has (0): until then the exporter is not ready and holds what it counts.',
      labelNames: ['source'],
      registers,
      collect() {
        for (const source of status.sources.keys()) this.set({ source }, status.answered(source) ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'aztraffic_topology_data_created_timestamp_seconds',
      help: 'When the publisher made the data in force, by source (ip_ranges: ip-ranges.json\'s createDate; the package\'s own copy at a first boot is months old).',
      labelNames: ['source'],
      registers,
      collect() {
        for (const [source, s] of status.sources) if (s.created !== undefined) this.set({ source }, s.created);
      },
    });
    new client.Counter({
      name: 'aztraffic_topology_refresh_errors_total',
      help: 'Failed topology refreshes, by source; the last good topology stays in use.',
      labelNames: ['source'],
      registers,
      collect() {
        // the status holds the totals: a counter's value is set by resetting and adding the total
        this.reset();
        for (const [source, s] of status.sources) this.inc({ source }, s.errors);
      },
    });
    this.zoneInfo = new client.Gauge({
      name: 'aztraffic_zone_info',
      help: 'Maps zone names (local_az, remote_az) to zone IDs; always 1.',
      labelNames: ['zone', 'zone_id'],
      registers,
    });
    this.hostInfo = new client.Gauge({
      name: 'aztraffic_host_info',
      help: "The host the counts are of, as the bill's line items name it (account, region, instance, its ENIs comma-separated); always 1. reconcile joins on it.",
      labelNames: ['account_id', 'region', 'instance_id', 'interfaces'],
      registers,
    });
  }

  describe(t: Topology): void {
    this.zoneInfo.reset();
    for (const [zone, zoneId] of t.zoneIds) this.zoneInfo.set({ zone, zone_id: zoneId }, 1);
    this.hostInfo.reset();
    const h = t.host;
    if (h && (h.instance_id !== undefined || h.account_id !== undefined || h.interfaces.length > 0)) {
      this.hostInfo.set({ account_id: h.account_id ?? '', region: t.region, instance_id: h.instance_id ?? '', interfaces: h.interfaces.join(',') }, 1);
    }
  }
}
