// `npm run bench:lookups`: what finding a new connection's owner costs. A child process holds N open
// TCP connections on loopback (as a busy proxy holds its sockets); for each, interleaved in rounds:
// the kernel's exact socket lookup (inet_diag), the same plus the holder found among recent holders
// (the child's /proc/PID/fd), and the scan of /proc/net/tcp that the lookup replaces (per batch). Then
// one walk of all of /proc (native and JavaScript), the cost of 10,000 new connections a second in a
// core's share, and the memory of the boot window's hold at 100,000 address pairs.
import { fork, type ChildProcess } from 'node:child_process';
import { readlinkSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KernelLookups, loadNetlink } from '../src/attribution/kernel.js';
import { socketHolders, SocketTable, type SocketKey } from '../src/attribution/sockets.js';
import { Hold } from '../src/engine/hold.js';

const N = Number(process.env.CONNECTIONS ?? 2000);
const ROUNDS = 5;
const BATCH = Number(process.env.BATCH ?? 50);
const SAMPLE = Math.min(N, 1000);
const OUT = join(import.meta.dirname, '..', 'bench-out');

/** A child that opens N connections to its own server and reports the client ends' ports. */
function holder(n: number): Promise<{ child: ChildProcess; server: number; ports: number[] }> {
  mkdirSync(OUT, { recursive: true });
  const script = join(OUT, 'lookup-holder.cjs');
  writeFileSync(
    script,
    `const net=require('net');const s=net.createServer(()=>{}).listen(0,'127.0.0.1',async()=>{const port=s.address().port;const ports=[];for(let i=0;i<${n};i++){await new Promise(r=>{const c=net.connect(port,'127.0.0.1',()=>{ports.push(c.localPort);r()})})}process.send({server:port,ports})});`,
  );
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', (m: { server: number; ports: number[] }) => resolve({ child, ...m })));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(): Promise<void> {
  const { addon, problem } = loadNetlink();
  if (!addon) throw new Error(problem);
  const k = new KernelLookups(addon);
  const { child, server, ports } = await holder(N);
  const lo = new Uint32Array([0x7f000001, 0, 0, 0]);
  const keys: SocketKey[] = ports.map((p) => ({ family: 4, proto: 6, local: lo, remote: lo, localPort: p, remotePort: server }));
  const inodes = keys.map((key) => k.socket(key)!.inode);
  if (inodes.some((i) => !(i > 0))) throw new Error('a connection was not found');
  const pid = child.pid!;

  const exact: number[] = [];
  const withHolder: number[] = [];
  const scan: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    for (const key of keys) k.socket(key);
    exact.push(((performance.now() - t) * 1000) / N);
    t = performance.now();
    // the holder's descriptors are read once per batch of new connections (the flows that one batch
    // of packets began): here batches of BATCH
    for (let i = 0; i < SAMPLE; i += BATCH) {
      const batch = keys.slice(i, i + BATCH).map((key) => k.socket(key)!.inode);
      k.holders(new Set(batch), [pid], false);
    }
    withHolder.push(((performance.now() - t) * 1000) / SAMPLE);
    t = performance.now();
    const table = new SocketTable();
    for (const key of keys.slice(0, BATCH)) table.inodeOf(key);
    scan.push(performance.now() - t);
  }
  const walkNative: number[] = [];
  const walkJs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    k.holders(new Set([1]), [], true);
    walkNative.push(performance.now() - t);
    t = performance.now();
    socketHolders(new Set([1]));
    walkJs.push(performance.now() - t);
  }
  child.kill();

  // the hold: 100,000 address pairs, one packet each
  const before = process.memoryUsage().arrayBuffers;
  const hold = new Hold(100_000);
  const view = { family: 4, src4: 0x0a000001, dst4: 0, src6: new Uint32Array(4), dst6: new Uint32Array(4), ipBytes: 1500, packets: 1, proto: 6, srcPort: 443, dstPort: 50000 };
  const t = performance.now();
  for (let i = 0; i < 100_000; i++) {
    view.dst4 = (0x36000000 + i) >>> 0;
    if (!hold.add(view as Parameters<Hold['add']>[0])) throw new Error(`hold full at ${i}`);
  }
  const addNs = ((performance.now() - t) * 1e6) / 100_000;
  const holdMb = (process.memoryUsage().arrayBuffers - before) / 1e6;

  const processes = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
  let fds = 0;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      fds += readdirSync(`/proc/${p}/fd`).length;
    } catch {
      // gone
    }
  }
  const e = median(exact);
  const h = median(withHolder);
  console.log(`connections held by one process: ${N}; this machine: ${processes} processes, ${fds} descriptors (${readlinkSync('/proc/self/ns/net')})`);
  console.log(`socket lookup (inet_diag, exact 5-tuple): ${e.toFixed(1)} µs per new connection (rounds: ${exact.map((x) => x.toFixed(1)).join(', ')})`);
  console.log(`  + its holder among recent holders (a process with ${N} descriptors, read once per ${BATCH} new connections): ${h.toFixed(1)} µs (rounds: ${withHolder.map((x) => x.toFixed(1)).join(', ')})`);
  console.log(`  at 10,000 new connections/s: ${((e * 10_000) / 1e4).toFixed(1)}% of a core for the lookups, ${((h * 10_000) / 1e4).toFixed(1)}% with their holder (reads of descriptors are held to a fifth of a core: past it, flows wait)`);
  console.log(`the scan it replaces: /proc/net/tcp{,6} read and parsed once per batch: ${median(scan).toFixed(1)} ms (rounds: ${scan.map((x) => x.toFixed(1)).join(', ')})`);
  console.log(`a walk of all of /proc/PID/fd: native ${median(walkNative).toFixed(2)} ms, JavaScript ${median(walkJs).toFixed(2)} ms (rounds: ${walkNative.map((x) => x.toFixed(2)).join(', ')} / ${walkJs.map((x) => x.toFixed(2)).join(', ')}); walks are held to a fifth of a core`);
  console.log(`hold: 100,000 address pairs in ${holdMb.toFixed(1)} MB (typed arrays, made once), ${addNs.toFixed(0)} ns per new pair`);
}

await main();
