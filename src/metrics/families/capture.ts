// What the capture saw and lost: frames per interface, drops, whether it runs, its failures; and the
// frames it saw that are not this host's billed traffic (transit, non-IP, duplicates on `any`).
import client from 'prom-client';
import { Totals } from './totals.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { MetricFamily } from './family.js';

export class CaptureFamily implements MetricFamily {
  private readonly packets: Totals<'interface'>;
  private readonly dropped: Totals<'interface' | 'where'>;
  private readonly transit: Totals<never>;
  private readonly nonIp: Totals<never>;
  private readonly duplicates: Totals<never>;
  readonly up: client.Gauge<'interface'>;
  readonly errors: client.Counter<'interface'>;
  readonly filtered: client.Gauge<'interface'>;

  constructor(registers: client.Registry[]) {
    this.packets = new Totals(
      new client.Counter({ name: 'aztraffic_capture_packets_total', help: 'Frames captured, by interface, before decoding.', labelNames: ['interface'], registers }),
    );
    this.dropped = new Totals(
      new client.Counter({
        name: 'aztraffic_capture_dropped_packets_total',
        help: 'Frames the capture reports lost, by interface and where they were dropped (kernel, interface).',
        labelNames: ['interface', 'where'],
        registers,
      }),
    );
    this.transit = new Totals(new client.Counter({ name: 'aztraffic_transit_packets_total', help: 'IP packets where neither address is local to this host; not billed to it.', registers }));
    this.nonIp = new Totals(new client.Counter({ name: 'aztraffic_non_ip_packets_total', help: 'Frames that carry no IP packet (ARP, LLDP, ...); not traffic AWS bills.', registers }));
    this.duplicates = new Totals(
      new client.Counter({
        name: 'aztraffic_duplicate_packets_total',
        help: 'Second captures of one packet on the "any" interface (a bridge and its port, a pod veth and the ENI it is routed to); counted once.',
        registers,
      }),
    );
    this.up = new client.Gauge({
      name: 'aztraffic_capture_up',
      help: 'Whether capture on the interface is running (1) or failed and being retried (0).',
      labelNames: ['interface'],
      registers,
    });
    // with a BPF filter the captured packets are a chosen part of the interface's: comparing the two
    // says nothing of loss (coverage is not computed, the coverage alert leaves such interfaces out)
    this.filtered = new client.Gauge({
      name: 'aztraffic_capture_filtered',
      help: 'Whether capture on the interface counts only what --capture.filter selects (1), or every packet (0).',
      labelNames: ['interface'],
      registers,
    });
    this.errors = new client.Counter({
      name: 'aztraffic_capture_errors_total',
      help: 'Capture failures (interface gone, permission denied, ...); each is retried with backoff.',
      labelNames: ['interface'],
      registers,
    });
  }

  take(p: Pipeline): void {
    const { capture: c, decode: d, engine } = p;
    c.interfaces.forEach((name, i) => {
      this.packets.set({ interface: name }, c.packets[i]);
      // -1: the source never reported drops for it
      if (c.dropsKernel[i] >= 0) this.dropped.set({ interface: name, where: 'kernel' }, c.dropsKernel[i]);
      if (c.dropsInterface[i] >= 0) this.dropped.set({ interface: name, where: 'interface' }, c.dropsInterface[i]);
    });
    this.transit.set({}, engine.transitPackets);
    this.nonIp.set({}, d.nonIp);
    this.duplicates.set({}, d.duplicates);
  }
}
