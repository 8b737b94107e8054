// The realistic mix: what a Kubernetes node next to CoreDNS (or the story's cluster) captures. IPv4 and
// IPv6, TCP and UDP, ~2,900 remotes over every category, 17% of packets DNS on port 53 (queries and the
// answers to them, CNAME chains included), new TCP connections (SYN, SYN-ACK, FIN) at a node's rate,
// frames from 64-byte ACKs to full 1,500-byte segments. Deterministic (seeded).
import dnsPacket from 'dns-packet';
import { ethernet, ipv4, ipv6, PcapWriter, type L4 } from '../scripts/lib/frames.js';

export interface MixOptions {
  /** Share of packets that are DNS on port 53 (default 0.17). */
  dnsShare?: number;
  /** New TCP connections per second of capture (default 2,000: SYN, SYN-ACK and FIN each). */
  connectionsPerSecond?: number;
  /** Packets per second of capture time (default 100,000). */
  packetsPerSecond?: number;
  /** Every data frame of this size (default: the mix of ACKs, mid-size and full segments). */
  frameSize?: number;
}

const LOCAL4 = '172.31.51.15';
const LOCAL6 = '2600:1f18:1234:5600::15';
const RESOLVER = '172.31.0.2';

/** The mix as a capture file (snaplen 128, as a node's capture of it would be). */
export function makeMix(path: string, packets: number, o: MixOptions = {}): void {
  const w = new PcapWriter(path, 1, 128);
  mixFrames(packets, o, (ts, frame) => w.write({ ts, frame }));
  w.close();
}

/** The mix's whole frames in order, each with its capture time (what bench:live sends through trafgen). */
export function mixFrames(packets: number, o: MixOptions, out: (ts: number, frame: Buffer) => void): void {
  let seed = 20261207;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const octet = (): number => 1 + Math.floor(rand() * 250);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const pps = o.packetsPerSecond ?? 100_000;
  const conn = (o.connectionsPerSecond ?? 2_000) / pps;
  // a draw is a DNS pair (2 packets), a connection (3) or a data frame (1): the chances that give the shares asked
  const share = o.dnsShare ?? 0.17;
  const dnsShare = (share * (1 + 2 * conn)) / (1 - share / 2);
  const newPerPacket = conn * (1 + dnsShare / 2 + 2 * conn) / (1 + 2 * conn);

  // ~2,900 remotes: (address, family, name, service port, protocol)
  type Remote = { ip: string; v6: boolean; name: string; port: number; proto: number };
  const remotes: Remote[] = [];
  const add = (n: number, ip: () => string, v6: boolean, name: (i: number) => string, ports: number[], udp = 0): void => {
    for (let i = 0; i < n; i++) remotes.push({ ip: ip(), v6, name: name(i), port: pick(ports), proto: rand() < udp ? 17 : 6 });
  };
  add(600, () => `172.31.${48 + Math.floor(rand() * 16)}.${octet()}`, false, (i) => `svc-${i}.shop.svc.cluster.local`, [80, 443, 8080, 9092, 6379, 5432], 0.05);
  add(500, () => `172.31.${16 + Math.floor(rand() * 16)}.${octet()}`, false, (i) => `svc-${i}.data.svc.cluster.local`, [80, 443, 8080, 9092, 5432], 0.05);
  add(300, () => `2600:1f18:1234:5600::${octet().toString(16)}:${octet().toString(16)}`, true, (i) => `pod6-${i}.shop.svc.cluster.local`, [80, 443, 8080]);
  add(400, () => `54.144.${octet()}.${octet()}`, false, (i) => `ec2-${i}.compute-1.amazonaws.com`, [80, 443]);
  add(200, () => `52.216.${octet()}.${octet()}`, false, (i) => `bucket-${i}.s3.us-east-1.amazonaws.com`, [443]);
  add(150, () => `52.48.${octet()}.${octet()}`, false, (i) => `api-${i}.eu-west-1.example.com`, [443]);
  add(650, () => `${140 + Math.floor(rand() * 20)}.${octet()}.${octet()}.${octet()}`, false, (i) => `cdn-${i}.example.net`, [443, 80], 0.03);
  add(100, () => `2a00:${octet().toString(16)}::${octet().toString(16)}`, true, (i) => `v6-${i}.example.org`, [443]);
  add(50, () => `10.200.${octet()}.${octet()}`, false, (i) => `legacy-${i}.corp`, [1521, 445]);

  const tcp = remotes.filter((x) => x.proto === 6);
  const sizes = o.frameSize !== undefined ? [o.frameSize] : [64, 64, 64, 512, 1500, 1500, 1500, 1500];
  const start = 1_767_225_600;
  let t = start;
  let dnsId = 1;
  const frame = (remote: Remote, egress: boolean, size: number, eph: number, flags: number, proto = remote.proto): Buffer => {
    const local = remote.v6 ? LOCAL6 : LOCAL4;
    const overhead = 14 + (remote.v6 ? 40 : 20) + (proto === 6 ? 20 : 8);
    const l4: L4 = { proto, sport: egress ? eph : remote.port, dport: egress ? remote.port : eph, flags, payloadLen: Math.max(0, size - overhead) };
    const [src, dst] = egress ? [local, remote.ip] : [remote.ip, local];
    return ethernet(remote.v6 ? ipv6({ src, dst, l4 }) : ipv4({ src, dst, l4 }));
  };
  // a few thousand distinct data frames, reused (as a template capture does); DNS and handshakes made as they come
  const data: Buffer[] = [];
  for (let i = 0; i < 8192; i++) {
    const r = pick(remotes);
    data.push(frame(r, rand() < 0.45, pick(sizes), 32768 + Math.floor(rand() * 28000), 0x18));
  }
  let written = 0;
  const put = (b: Buffer): void => {
    if (written >= packets) return;
    out(t, b);
    written++;
    t += 1 / pps;
  };
  const dnsFrame = (query: boolean, msg: Buffer, eph: number): Buffer => {
    const l4: L4 = { proto: 17, sport: query ? eph : 53, dport: query ? 53 : eph, payload: msg };
    return ethernet(query ? ipv4({ src: LOCAL4, dst: RESOLVER, l4 }) : ipv4({ src: RESOLVER, dst: LOCAL4, l4 }));
  };
  while (written < packets) {
    const k = rand();
    if (k < dnsShare / 2) {
      // a question and its answer (a CNAME chain for a fifth), as a pod's resolver library asks them
      const r = pick(remotes);
      const id = dnsId++ & 0xffff;
      const eph = 32768 + Math.floor(rand() * 28000);
      const type = r.v6 ? 'AAAA' : 'A';
      const chain = rand() < 0.2;
      const asked = chain ? `www-${r.name}` : r.name;
      put(dnsFrame(true, dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name: asked }] }), eph));
      const answers: dnsPacket.Answer[] = [];
      if (chain) answers.push({ type: 'CNAME', name: asked, ttl: 300, data: r.name });
      answers.push({ type, name: r.name, ttl: 30, data: r.ip } as dnsPacket.Answer);
      put(dnsFrame(false, dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ type, name: asked }], answers }), eph));
    } else if (k < dnsShare / 2 + newPerPacket) {
      // a new connection: SYN, SYN-ACK, and its FIN later (as three of its packets)
      const r = pick(tcp);
      const eph = 32768 + Math.floor(rand() * 28000);
      put(frame(r, true, 74, eph, 0x02, 6));
      put(frame(r, false, 74, eph, 0x12, 6));
      put(frame(r, true, 66, eph, 0x11, 6));
    } else put(data[Math.floor(rand() * data.length)]);
  }
}
