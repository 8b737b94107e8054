// aztraffic_interface_{bytes,packets}_total: the kernel's own counters for the captured interface(s),
// so that a dashboard can show captured ÷ seen (cap exposes no pcap_stats).
import { readdirSync } from 'node:fs';
import client from 'prom-client';
import { readInterfaceCounters, type InterfaceCounters } from '../sources/interfaces.js';

/** `captured` names the interfaces captured now (they may grow: ENIs found later). */
export function registerInterfaceCounters(registry: client.Registry, captured: () => readonly string[], sysClassNet = '/sys/class/net'): void {
  const names = (): readonly string[] => {
    if (!captured().includes('any')) return captured();
    try {
      return readdirSync(sysClassNet).filter((n) => n !== 'lo');
    } catch {
      return [];
    }
  };
  const counter = (name: string, help: string, pick: (s: InterfaceCounters) => [rx: number, tx: number]): void => {
    const last = new Map<string, number>();
    new client.Counter({
      name,
      help,
      labelNames: ['interface', 'direction'],
      registers: [registry],
      collect() {
        for (const n of names()) {
          const s = readInterfaceCounters(n, sysClassNet);
          if (!s) continue;
          const [rx, tx] = pick(s);
          for (const [direction, total] of [['ingress', rx], ['egress', tx]] as const) {
            // the kernel's counters are totals: follow them; a drop means the interface was re-created
            const key = `${n}/${direction}`;
            const before = last.get(key) ?? 0;
            this.inc({ interface: n, direction }, total >= before ? total - before : total);
            last.set(key, total);
          }
        }
      },
    });
  };
  counter('aztraffic_interface_bytes_total', 'Bytes the kernel counted on the interface (link layer included), by direction (ingress = rx).', (s) => [s.rxBytes, s.txBytes]);
  counter('aztraffic_interface_packets_total', 'Packets the kernel counted on the interface, by direction; compare with aztraffic_capture_packets_total for coverage.', (s) => [
    s.rxPackets,
    s.txPackets,
  ]);
}
