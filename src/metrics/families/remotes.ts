// aztraffic_remote_bytes_total and aztraffic_remote_dollars_total: bytes by remote (the DNS name the
// host resolved, else the IP), service port and network path, and what they cost on their bill lines;
// bounded to the top K by cost then bytes, the rest as remote="other". Live: chosen at every flush;
// analyze: over the whole capture (RankedCounter).
import client from 'prom-client';
import { PATH_NAMES } from '../../classify/bill.js';
import { CATEGORY_NAMES, DIRECTION_NAMES } from '../../classify/categories.js';
import { decodeSpillSlot } from '../../engine/counter-layout.js';
import type { RemoteTable } from '../../engine/remote-table.js';
import type { NameCache } from '../../decode/dns.js';
import { ipv4ToString, ipv6WordsToString } from '../../net/ip.js';
import type { Folded } from '../heavy-hitters.js';
import { pricedCategory, RankedCounter } from '../ranked-counter.js';
import { OTHER_REMOTE, REMOTE_SHAPE, seriesKey, type Delta, type RemoteLabels } from '../top-k.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { Topology } from '../../topology/topology.js';
import type { SavingsLedger } from '../savings.js';
import type { MetricFamily } from './family.js';

export class RemotesFamily implements MetricFamily {
  private readonly ranked: RankedCounter<RemoteLabels>;

  constructor(
    registers: client.Registry[],
    k: number,
    /** where each entry's bytes are noted for the cheaper path they could take (before any folding) */
    private readonly savings?: SavingsLedger,
  ) {
    const labelNames = ['direction', 'category', 'remote_az', 'remote', 'port', 'path'] as const;
    const counter = new client.Counter({
      name: 'aztraffic_remote_bytes_total',
      help: `IP-layer bytes by remote (DNS name seen on the wire, else IP), service port and network path; top ${k} remotes by cost, the rest as remote="other".`,
      labelNames,
      registers,
    });
    const dollars = new client.Counter({
      name: 'aztraffic_remote_dollars_total',
      help: 'USD of the bytes of aztraffic_remote_bytes_total (same series): each byte at the sum of its bill lines\' prices in force when it was counted (NAT gateway, endpoint and Transit Gateway processing included).',
      labelNames,
      registers,
    });
    this.ranked = new RankedCounter(counter, dollars, k, REMOTE_SHAPE, pricedCategory);
  }

  /** Rank over the whole run instead of per flush (analyze), in a summary of `capacity` entries. */
  accumulate(capacity: number): void {
    this.ranked.accumulate(capacity);
  }

  get folded(): Folded {
    return this.ranked.folded;
  }

  /** Move the remote table's entries (and spills) into the series; the table is cleared. */
  take(p: Pipeline): void {
    this.takeFrom(p.remotes, p.topology, p.names, p.now);
  }

  private takeFrom(remotes: RemoteTable, t: Topology, names: NameCache, now: number): void {
    const zones = t.zones;
    const savings = this.savings;
    const deltas = new Map<string, Delta<RemoteLabels>>();
    // over a whole capture each entry goes straight to the ranking: a flood of distinct remotes then
    // leaves no interval map of 64k entries behind at every drain
    const direct = this.ranked.accumulating;
    remotes.forEach((family, addr4, addr6, port, dir, cat, path, zone, bytes, dollars) => {
      let remote: string;
      let cls: number;
      if (family === 4) {
        remote = names.get4(addr4, now) ?? ipv4ToString(addr4);
        cls = savings === undefined ? 0 : t.table4.lookup(addr4);
      } else {
        const ip = ipv6WordsToString(addr6!);
        remote = names.get(ip, now) ?? ip;
        cls = savings === undefined ? 0 : t.table6.lookup(addr6!);
      }
      savings?.noteRemote(remote, t.classes[cls], zones[zone], dir, cat, path, bytes, dollars);
      const labels: RemoteLabels = {
        direction: DIRECTION_NAMES[dir],
        category: CATEGORY_NAMES[cat],
        remote_az: zones[zone],
        remote,
        port: port < 0 ? '' : String(port),
        path: PATH_NAMES[path],
      };
      if (direct) {
        this.ranked.addOne(labels, bytes, dollars);
        return;
      }
      const key = seriesKey(labels);
      const d = deltas.get(key);
      if (d) {
        d.bytes += bytes;
        d.dollars += dollars;
      } else deltas.set(key, { labels, bytes, dollars });
    });
    const spilled: Delta<RemoteLabels>[] = [];
    remotes.overflow.forEach((bytes, slot) => {
      if (bytes === 0) return;
      const { dir, cat, zone } = decodeSpillSlot(slot, zones.length);
      const labels = { direction: DIRECTION_NAMES[dir], category: CATEGORY_NAMES[cat], remote_az: zones[zone], remote: OTHER_REMOTE, port: '', path: '' };
      spilled.push({ labels, bytes, dollars: remotes.spilledDollars(slot) });
    });
    remotes.clear();
    this.ranked.add(deltas, spilled);
  }

  /** analyze: the top K of the whole run get their series, the rest "other". */
  settle(): void {
    this.ranked.settle();
  }
}
