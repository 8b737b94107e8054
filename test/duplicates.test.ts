// On `any`, a packet captured twice (port and bridge, veth and ENI) counts once; the same bytes sent
// again later (a TCP retransmission, seconds on) are real traffic and count again. The window is in the
// unit of the frames' timestamps: seconds.
import { describe, expect, it } from 'vitest';
import { ethernet, ipv4 } from '../scripts/lib/frames.js';
import { LinkType } from '../src/decode/packet.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { Topology } from '../src/topology/topology.js';
import { topologyFile } from './helpers.js';

function pipeline(): Pipeline {
  const p = new Pipeline(new Topology({ file: topologyFile({ subnets: [{ cidr: '10.0.0.0/16', zone: 'us-east-1a', zone_id: 'use1-az1' }] }), region: 'us-east-1' }));
  p.setLocalIps(['10.0.0.10']);
  p.dedupeAcrossInterfaces();
  return p;
}

// one TCP segment, byte for byte the same each time it is handed over
const FRAME = ethernet(ipv4({ src: '10.0.0.10', dst: '198.51.100.7', id: 4242, l4: { proto: 6, sport: 40000, dport: 443, payloadLen: 1000 } }));

function countAt(times: number[]): { packets: number; duplicates: number } {
  const p = pipeline();
  const eth = p.addInterface('any');
  for (const t of times) p.frame(LinkType.ETHERNET, FRAME, 0, FRAME.length, FRAME.length, t, eth);
  let packets = 0;
  p.engine.drainCounters((c) => (packets += c.packets));
  return { packets, duplicates: p.decode.duplicates };
}

describe('copies of one packet on two interfaces', () => {
  it('a copy 1 ms later is the same packet: counted once', () => {
    expect(countAt([1_700_000_000, 1_700_000_000.001])).toEqual({ packets: 1, duplicates: 1 });
  });

  it('the same segment 2 s later is a retransmission: counted again', () => {
    expect(countAt([1_700_000_000, 1_700_000_002])).toEqual({ packets: 2, duplicates: 0 });
  });

  it('and 200 ms later too (a retransmission timeout is at least 200 ms)', () => {
    expect(countAt([1_700_000_000, 1_700_000_000.2])).toEqual({ packets: 2, duplicates: 0 });
  });
});
