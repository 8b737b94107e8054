// What the host says about its interfaces: the default route's interface, local addresses, and the
// kernel's own packet counters (to show what capture missed: cap has no pcap_stats).
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** Interface of the IPv4 default route (then IPv6), from /proc; undefined when there is none. */
export function defaultRouteInterface(procNet = '/proc/net'): string | undefined {
  try {
    for (const line of readFileSync(`${procNet}/route`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 7 && f[1] === '00000000' && f[7] === '00000000') return f[0];
    }
  } catch {
    // no /proc/net/route: not Linux, or no IPv4
  }
  try {
    for (const line of readFileSync(`${procNet}/ipv6_route`, 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 10 && /^0{32}$/.test(f[0]) && f[1] === '00' && f[9] !== 'lo') return f[9];
    }
  } catch {
    // no IPv6
  }
  return undefined;
}

/** Addresses of the named interfaces, or of all of them for `any`. */
export function interfaceAddresses(names: readonly string[]): string[] {
  const all = networkInterfaces();
  const pick = names.includes('any') ? Object.values(all) : names.map((n) => all[n]);
  return pick.flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
}

/** The interfaces (by name) that carry these MAC addresses: the instance's ENIs as IMDS lists them. */
export function interfacesWithMacs(macs: readonly string[], sysClassNet = '/sys/class/net'): string[] {
  if (macs.length === 0) return [];
  const wanted = new Set(macs.map((m) => m.toLowerCase()));
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    try {
      if (wanted.has(readFileSync(`${sysClassNet}/${n}/address`, 'utf8').trim().toLowerCase())) out.push(n);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Whether this process may open packet sockets (CAP_NET_RAW in its effective set), from
 * /proc/self/status; undefined where that cannot be read.
 */
export function mayCapture(status = '/proc/self/status'): boolean | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(status, 'utf8'));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n : undefined;
  } catch {
    return undefined;
  }
}

export function interfaceExists(name: string, sysClassNet = '/sys/class/net'): boolean {
  if (name === 'any') return true;
  try {
    readFileSync(`${sysClassNet}/${name}/ifindex`);
    return true;
  } catch {
    return false;
  }
}

export interface InterfaceCounters {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

/** /sys/class/net/IF/statistics; undefined where the interface is gone. */
export function readInterfaceCounters(name: string, sysClassNet = '/sys/class/net'): InterfaceCounters | undefined {
  try {
    const read = (f: string): number => Number(readFileSync(`${sysClassNet}/${name}/statistics/${f}`, 'utf8').trim());
    return { rxBytes: read('rx_bytes'), txBytes: read('tx_bytes'), rxPackets: read('rx_packets'), txPackets: read('tx_packets') };
  } catch {
    return undefined;
  }
}
