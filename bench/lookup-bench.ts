// `npm run bench:lookups`: what finding a new connection's owner costs. A child process holds N open
// TCP connections on loopback (as a busy proxy holds its sockets); for each, interleaved in rounds:
// the kernel's exact socket lookup (inet_diag), the same plus the holder found among recent holders
// (the child's /proc/PID/fd), a UDP flow whose socket is gone, and the scan of /proc/net/tcp that the
// lookup replaces (per batch). Then one walk of all of /proc (native and JavaScript), the cost of 10,000
// new connections a second in a core's share, and the memory of the boot window's hold at 100,000
// address pairs. As root: the thread
// that looks up each connection this host opens as its SYN leaves, in two network namespaces of its
// own (a client opening FIRST connections one after another to a server beside it): its CPU time per
// connection, and how many it found the holder of.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
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
const FIRST = Number(process.env.FIRST ?? 2000);
const ADDON = join(import.meta.dirname, '..', 'native', 'build', 'Release', 'aztraffic_netlink.node');

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

  // UDP flows whose socket is gone (a resolver's query, closed before its packets are counted): asked
  // and not found, at ports nobody holds
  const goneUdp: SocketKey[] = Array.from({ length: SAMPLE }, (_, i) => ({ family: 4, proto: 17, local: lo, remote: lo, localPort: 20_000 + i, remotePort: 53 }));

  const exact: number[] = [];
  const withHolder: number[] = [];
  const scan: number[] = [];
  const gone: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    for (const key of keys) k.socket(key);
    exact.push(((performance.now() - t) * 1000) / N);
    t = performance.now();
    for (const key of goneUdp) k.socket(key);
    gone.push(((performance.now() - t) * 1000) / SAMPLE);
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
  console.log(`a UDP flow whose socket is gone (none found): ${median(gone).toFixed(1)} µs (rounds: ${gone.map((x) => x.toFixed(1)).join(', ')}); at 10,000 such flows/s: ${median(gone).toFixed(1)}% of a core`);
  console.log(`the scan it replaces: /proc/net/tcp{,6} read and parsed once per batch: ${median(scan).toFixed(1)} ms (rounds: ${scan.map((x) => x.toFixed(1)).join(', ')})`);
  console.log(`a walk of all of /proc/PID/fd: native ${median(walkNative).toFixed(2)} ms, JavaScript ${median(walkJs).toFixed(2)} ms (rounds: ${walkNative.map((x) => x.toFixed(2)).join(', ')} / ${walkJs.map((x) => x.toFixed(2)).join(', ')}); walks are held to a fifth of a core`);
  console.log(`hold: 100,000 address pairs in ${holdMb.toFixed(1)} MB (typed arrays, made once), ${addNs.toFixed(0)} ns per new pair`);
}

/** The SYN thread's cost: FIRST connections from namespace A to a server in B, each opened and closed. */
async function firstPackets(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('the SYN thread: not measured (needs root for network namespaces)');
    return;
  }
  const tag = String(process.pid % 10000);
  const [a, b] = [`azfpa${tag}`, `azfpb${tag}`];
  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'ignore' });
  const server = join(OUT, 'first-server.cjs');
  const client = join(OUT, 'first-client.cjs');
  writeFileSync(server, `require('net').createServer((s)=>s.end()).listen(80,'10.201.0.2',()=>console.log('listening'))`);
  writeFileSync(
    client,
    `const a=require(${JSON.stringify(ADDON)});if(a.firstStart()!==0)throw new Error('firstStart');const net=require('net');let n=0;` +
      `const next=()=>{if(n++===${FIRST}){setTimeout(done,300);return}const c=net.connect(80,'10.201.0.2');c.on('error',()=>{});c.on('close',next);c.resume()};` +
      `const F=a.firstFields??16,out=new Float64Array(F*${FIRST + 100}),counts=new Float64Array(4);` +
      `function done(){const k=a.firstTake(out,counts);let held=0,named=0;for(let i=0;i<k;i++){if(out[i*F+7]>0)held++;if(F>16&&out[i*F+16]>0)named++}console.log(JSON.stringify({records:k,held,named,counts:[...counts]}));process.exit(0)}` +
      `const t=process.hrtime.bigint();next();`,
  );
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', 'azfp0', 'netns', a, 'type', 'veth', 'peer', 'name', 'azfp1', 'netns', b);
    ip('-n', a, 'addr', 'add', '10.201.0.1/24', 'dev', 'azfp0');
    ip('-n', b, 'addr', 'add', '10.201.0.2/24', 'dev', 'azfp1');
    ip('-n', a, 'link', 'set', 'azfp0', 'up');
    ip('-n', b, 'link', 'set', 'azfp1', 'up');
    const srv = spawn('ip', ['netns', 'exec', b, process.execPath, server], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => srv.stdout!.once('data', r));
    const out = execFileSync('ip', ['netns', 'exec', a, process.execPath, client], { encoding: 'utf8', timeout: 120_000 });
    srv.kill();
    const r = JSON.parse(out) as { records: number; held: number; named: number; counts: number[] };
    const [looked, over, , cpu] = r.counts;
    const perConnection = (cpu * 1e6) / Math.max(1, looked);
    console.log(
      `the SYN thread: ${perConnection.toFixed(0)} µs of CPU per connection this host opens (${looked} looked up, ${over} past its budget, ${r.held} of ${r.records} answers with their holder, ${r.named} with its name); at 10,000 new connections/s: ${perConnection.toFixed(0)}% of a core; its budget of a quarter of a core covers ${Math.floor(250_000 / perConnection).toLocaleString('en-US')} a second`,
    );
  } finally {
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not made
      }
    }
  }
}

await main();
await firstPackets();
