// The story's flow logs: 15 instances in one zone of a public subnet pull 100 MB each at boot from the
// four addresses of the in-region mirror (EC2 addresses of us-east-1 in AWS's ip-ranges.json), ask the
// VPC resolver, and chat with a neighbour in the same zone; logged in the default format as three
// 5-minute files of AWS's S3 layout. test/flow-logs.test.ts reads it; scripts/make-story-flow-logs.ts
// writes it out for the README's command.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

export const ACCOUNT = '111122223333';
export const BOOT = Date.UTC(2026, 11, 1, 8, 0) / 1000;
export const INSTANCES = 15;
export const MB = 1_000_000;
const RESOLVER = '10.1.0.2';
export const host = (i: number): string => `10.1.0.${10 + i}`;
export const eni = (i: number): string => `eni-0${(0xa000 + i).toString(16)}`;
const instance = (i: number): string => `i-0${i.toString(16).padStart(16, '0')}`;

export const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

/** Four addresses of EC2's own us-east-1 ranges: the in-region mirror. */
export function mirrorAddresses(ipRanges: string): string[] {
  const ranges = JSON.parse(readFileSync(ipRanges, 'utf8')) as { prefixes: { ip_prefix: string; region: string; service: string; network_border_group?: string }[] };
  const ec2 = ranges.prefixes.filter((p) => p.service === 'EC2' && p.region === 'us-east-1' && p.network_border_group === 'us-east-1').map((p) => p.ip_prefix);
  return ec2.slice(0, 4).map((p) => p.replace(/\.\d+\/\d+$/, '.7'));
}

/** The VPC as discover would write it: one public subnet, the instances' interfaces with their Name tags. */
export const STORY_TOPOLOGY = {
  region: 'us-east-1',
  subnets: [{ cidr: '10.1.0.0/20', zone: 'us-east-1a', zone_id: 'use1-az6', vpc: 'vpc-story', id: 'subnet-a' }],
  route_tables: [{ id: 'rtb-public', vpc: 'vpc-story', main: true, routes: [{ destination: '10.1.0.0/16', target: 'local' }, { destination: '0.0.0.0/0', target: 'igw-1' }] }],
  interfaces: Array.from({ length: INSTANCES }, (_x, i) => ({ id: eni(i), instance: instance(i), zone: 'us-east-1a', zone_id: 'use1-az6', subnet: 'subnet-a', ips: [host(i)], kind: 'Instance', owner: instance(i), name: `worker-${i + 1}` })),
};

/** A record of the default format on instance i's interface. */
export const rec = (i: number, src: string, dst: string, sport: number, dport: number, proto: number, packets: number, bytes: number, start: number, action = 'ACCEPT'): string =>
  `2 ${ACCOUNT} ${eni(i)} ${src} ${dst} ${sport} ${dport} ${proto} ${packets} ${bytes} ${start} ${start + 60} ${action} OK`;

/**
 * The files' keys and contents: each instance pulls 25 MB from each mirror address (five records of
 * 5 MB, HTTP), sends its requests, asks the resolver, chats with its neighbour (both interfaces log it),
 * and logs an interval without traffic (NODATA).
 */
export function storyCorpus(mirror: readonly string[]): { key: string; body: Buffer }[] {
  const windows: string[][] = [[], [], []];
  for (let i = 0; i < INSTANCES; i++) {
    for (const [m, address] of mirror.entries()) {
      const port = 40000 + m;
      for (let k = 0; k < 5; k++) {
        const t = BOOT + 60 * k;
        windows[k < 3 ? 0 : 1].push(rec(i, address, host(i), 80, port, 6, 3500, 5 * MB, t), rec(i, host(i), address, port, 80, 6, 1700, 90_000, t));
      }
    }
    windows[0].push(rec(i, host(i), RESOLVER, 53000, 53, 17, 20, 1600, BOOT), rec(i, RESOLVER, host(i), 53, 53000, 17, 20, 4000, BOOT));
    const peer = (i + 1) % INSTANCES;
    windows[2].push(rec(i, host(i), host(peer), 50000, 7000, 6, 100, 70_000, BOOT + 600), rec(peer, host(i), host(peer), 50000, 7000, 6, 100, 70_000, BOOT + 600));
    windows[2].push(`2 ${ACCOUNT} ${eni(i)} - - - - - - - ${BOOT + 600} ${BOOT + 660} - NODATA`);
  }
  return windows.map((lines, w) => {
    const stamp = new Date((BOOT + 300 * (w + 1)) * 1000).toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
    const key = `AWSLogs/${ACCOUNT}/vpcflowlogs/us-east-1/2026/12/01/${ACCOUNT}_vpcflowlogs_us-east-1_fl-0story_${stamp}_${w}a1b2c3.log.gz`;
    return { key, body: gzipSync(`${HEADER}\n${lines.join('\n')}\n`) };
  });
}
