// `npm run bench:scrape`: /metrics latency under 50 concurrent scrapers (autocannon, a bounded run on
// loopback) while the exporter counts: `demo` replays a generated capture of 600 remotes at its recorded
// pace (20,000 packets/s), so the remote series sit at their cap (--remote.top-k 100, plus "other").
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ethernet, ipv4, PcapWriter } from '../scripts/lib/frames.js';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench-out');
const CLI = join(ROOT, 'dist', 'cli.js');
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
const LOCAL = '172.31.51.15';

function capture(path: string): void {
  const w = new PcapWriter(path, 1, 96);
  // the demo topology's subnets (same and cross zone), its public IP, and the internet
  const remotes: string[] = [];
  for (let i = 0; i < 200; i++) remotes.push(`172.31.${48 + (i % 8)}.${10 + (i >> 3)}`);
  for (let i = 0; i < 200; i++) remotes.push(`172.31.${16 + (i % 8)}.${10 + (i >> 3)}`);
  for (let i = 0; i < 200; i++) remotes.push(`198.18.${i >> 8}.${i & 255}`);
  const t0 = 1_700_000_000;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const remote = remotes[(i * 7919) % remotes.length];
    const l4 = { proto: 6, sport: 40000 + (i % 1000), dport: 443, payloadLen: 100 + (i % 1300) };
    const frame = ethernet(ipv4(i % 2 ? { src: LOCAL, dst: remote, l4 } : { src: remote, dst: LOCAL, l4: { ...l4, sport: 443, dport: l4.sport } }));
    w.write({ ts: t0 + i / 20_000, frame });
  }
  w.close();
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const pcap = join(OUT, 'scrape-bench.pcap');
  capture(pcap);
  const child = spawn(process.execPath, [CLI, 'demo', '--demo.capture', pcap, '--web.listen-address', '127.0.0.1:0', '--remote.top-k', '100', '--log.level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /url=(http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (c) => reject(new Error(`demo exited ${c}: ${err}`)));
  });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const body = await (await fetch(`${url}/metrics`)).text();
    const series = body.split('\n').filter((l) => l.startsWith('aztraffic_')).length;
    const remoteSeries = body.split('\n').filter((l) => l.startsWith('aztraffic_remote_bytes_total{')).length;
    const result = await autocannon({ url: `${url}/metrics`, connections: CONNECTIONS, duration: SECONDS });
    const l = result.latency;
    console.log(`/metrics under ${CONNECTIONS} concurrent scrapers for ${SECONDS} s, counting 20,000 packets/s (${series} aztraffic_ series, ${remoteSeries} remote series, ${(body.length / 1024).toFixed(0)} KiB):`);
    console.log(`| scrapes/s | p50 ms | p90 ms | p99 ms | max ms | errors |`);
    console.log(`|---:|---:|---:|---:|---:|---:|`);
    console.log(`| ${result.requests.average.toFixed(0)} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${result.errors + result.non2xx} |`);
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
