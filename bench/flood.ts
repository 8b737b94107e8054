// A flood of distinct remotes and DNS names, the worst case for every table keyed by what the wire says:
// `remotes` TCP packets each to or from another remote (IPv4 in public, EC2 and VPC space, and IPv6),
// and `names` DNS exchanges (the host's query, then an answer naming a new name and address), mixed in.
// Written once per size to bench-out/ (npm run bench measures analyze's peak RSS on it).
import dnsPacket from 'dns-packet';
import { existsSync } from 'node:fs';
import { ethernet, ipv4, ipv6, PcapWriter } from '../scripts/lib/frames.js';

const LOCAL4 = '172.31.51.15';
const RESOLVER = '172.31.0.2';

/** The n-th distinct remote: 3 of 4 IPv4 spread over the whole space, 1 of 4 IPv6 in AWS's space. */
function remote(n: number): string {
  if (n % 4 === 3) return `2600:1f18:${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}::1`;
  const x = Math.imul(n + 1, 2654435761) >>> 0; // a bijection of n: distinct, scattered addresses
  return `${1 + (x >>> 24) % 223}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

export function makeFlood(path: string, remotes: number, names: number): void {
  if (existsSync(path)) return;
  const w = new PcapWriter(path, 1, 256);
  const start = 1_767_225_600;
  let t = start;
  const every = names > 0 ? Math.max(1, Math.floor(remotes / names)) : Infinity;
  let named = 0;
  for (let i = 0; i < remotes; i++) {
    t += 1e-5;
    const r = remote(i);
    const v6 = r.includes(':');
    const l4 = { proto: 6, sport: 40000 + (i % 20000), dport: 443, payloadLen: 100 };
    const ip = v6 ? ipv6({ src: '2600:1f18:1234:5600::15', dst: r, l4 }) : ipv4({ src: LOCAL4, dst: r, l4 });
    w.write({ ts: t, frame: ethernet(ip) });
    if (i % every === 0 && named < names) {
      // the answer gives a new name for a new address; the host asked first, as DNS answers are trusted only then
      const name = `host-${named}.flood-${named % 997}.example.com`;
      const id = named & 0xffff;
      const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
      const a = dnsPacket.encode({
        type: 'response',
        id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: [{ type: 'A', name }],
        answers: [{ type: 'A', name, ttl: 60, data: remote(remotes + named * 4) }],
      });
      const port = 30000 + (named % 30000);
      w.write({ ts: t, frame: ethernet(ipv4({ src: LOCAL4, dst: RESOLVER, l4: { proto: 17, sport: port, dport: 53, payload: q } })) });
      w.write({ ts: t + 1e-6, frame: ethernet(ipv4({ src: RESOLVER, dst: LOCAL4, l4: { proto: 17, sport: 53, dport: port, payload: a } })) });
      named++;
    }
  }
  w.close();
}
