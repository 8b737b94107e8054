import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { NameCache, parseDnsAnswers, sanitizeName } from '../src/decode/dns.js';

const response = (questions: dnsPacket.Question[], answers: dnsPacket.Answer[]) =>
  dnsPacket.encode({ type: 'response', id: 7, flags: dnsPacket.RECURSION_AVAILABLE, questions, answers });

describe('DNS answers', () => {
  it('follows CNAME chains back to the name asked for', () => {
    const msg = response(
      [{ type: 'A', name: 'My-Bucket.s3.us-east-1.amazonaws.com' }],
      [
        { type: 'CNAME', name: 'my-bucket.s3.us-east-1.amazonaws.com', ttl: 300, data: 's3-r-w.us-east-1.amazonaws.com' },
        { type: 'CNAME', name: 's3-r-w.us-east-1.amazonaws.com', ttl: 300, data: 's3-1-w.amazonaws.com' },
        { type: 'A', name: 's3-1-w.amazonaws.com', ttl: 5, data: '52.216.8.40' },
        { type: 'A', name: 's3-1-w.amazonaws.com', ttl: 5, data: '52.216.8.41' },
      ],
    );
    expect(parseDnsAnswers(msg)).toEqual([
      { ip: '52.216.8.40', name: 'my-bucket.s3.us-east-1.amazonaws.com', ttl: 5 },
      { ip: '52.216.8.41', name: 'my-bucket.s3.us-east-1.amazonaws.com', ttl: 5 },
    ]);
  });

  it('AAAA answers are keyed by the canonical IPv6 text', () => {
    const msg = response([{ type: 'AAAA', name: 'v6.example' }], [{ type: 'AAAA', name: 'v6.example', ttl: 60, data: '2600:1F18:0:0:0:0:0:22' }]);
    expect(parseDnsAnswers(msg)).toEqual([{ ip: '2600:1f18::22', name: 'v6.example', ttl: 60 }]);
  });

  it('a CNAME loop ends; queries and answerless responses give nothing', () => {
    const loop = response(
      [{ type: 'A', name: 'a.example' }],
      [
        { type: 'CNAME', name: 'a.example', ttl: 1, data: 'b.example' },
        { type: 'CNAME', name: 'b.example', ttl: 1, data: 'a.example' },
        { type: 'A', name: 'b.example', ttl: 1, data: '1.2.3.4' },
      ],
    );
    expect(parseDnsAnswers(loop)).toHaveLength(1);
    expect(parseDnsAnswers(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'x' }] }))).toEqual([]);
    expect(() => parseDnsAnswers(Buffer.from([1, 2, 3]))).toThrow();
  });

  it('names from the wire are sanitised and bounded', () => {
    expect(sanitizeName('Evil"Name}\n{x="1".Example.COM.')).toBe('evil_name___x__1_.example.com');
    const long = 'a'.repeat(300) + '.example.com';
    const s = sanitizeName(long);
    expect(s.length).toBe(128);
    expect(s.startsWith('~')).toBe(true);
    expect(s.endsWith('.example.com')).toBe(true);
  });
});

describe('name cache', () => {
  it('expires by packet time, at least the minimum TTL', () => {
    const c = new NameCache(10, 100);
    c.set('1.2.3.4', 'a.example', 5, 1000);
    expect(c.get('1.2.3.4', 1099)).toBe('a.example');
    expect(c.get('1.2.3.4', 1101)).toBeUndefined();
    c.set('1.2.3.5', 'b.example', 500, 1000);
    expect(c.get('1.2.3.5', 1400)).toBe('b.example');
  });

  it('stays within its capacity, dropping the oldest names', () => {
    const c = new NameCache(3, 100);
    for (let i = 0; i < 10; i++) c.set(`10.0.0.${i}`, `n${i}`, 60, 0);
    expect(c.size).toBe(3);
    expect(c.get('10.0.0.9', 1)).toBe('n9');
    expect(c.get('10.0.0.0', 1)).toBeUndefined();
  });
});
