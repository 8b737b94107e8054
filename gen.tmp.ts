import { PcapngWriter, ethernet, ipv4 } from './scripts/lib/frames.js';
const n = Number(process.argv[2]);
const ifs = Array.from({ length: n }, (_, i) => ({ linkType: 1, name: `if${i}` }));
const w = new PcapngWriter(process.argv[3], ifs);
const f = ethernet(ipv4({ src: '172.31.51.15', dst: '172.31.50.7', l4: { proto: 17, sport: 1000, dport: 2000, payloadLen: 100 } }));
for (let i = 0; i < n; i++) w.write({ ts: 1_700_000_000 + i / 1000, frame: f, iface: i });
w.close();
