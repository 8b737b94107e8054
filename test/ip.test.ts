import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { isValidCidr, parseCidr } from '../src/net/ip.js';

describe('CIDR parsing', () => {
  it('agrees with ipaddr.js on random IPv4 and IPv6 prefixes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat(128), (addr, n) => {
        const bits = addr.includes(':') ? 128 : 32;
        const len = n % (bits + 1);
        const [a, l] = ipaddr.parseCIDR(`${addr}/${len}`);
        const bytes = a.toByteArray();
        let v = 0n;
        for (const b of bytes) v = (v << 8n) | BigInt(b);
        const host = BigInt(bits - l);
        const c = parseCidr(`${addr}/${len}`);
        expect(c.start).toBe((v >> host) << host);
        expect(c.length).toBe(len);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects what is not a prefix', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4/33', '256.1.1.1/8', '01.2.3.4/8', '1.2.3.4/', '1.2.3.4/x', '::1/129', '1::2::3', 'g::/8', '1:2:3:4:5:6:7:8:9/64', '1:2:3:4:5:6:7/64']) {
      expect(isValidCidr(bad), bad).toBe(false);
    }
    for (const good of ['0.0.0.0/0', '10.0.0.0/8', '1.2.3.4', '::/0', '::1', 'fd00:ec2::253/128', '2600:1f18::/33', '::ffff:1.2.3.4/128', '1:2:3:4:5:6:7:8/64']) {
      expect(isValidCidr(good), good).toBe(true);
    }
  });
});
