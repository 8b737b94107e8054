// DNS answers seen on the wire name the remotes: "which component" is usually clearer from the name
// the host asked for (us-east-1.ec2.archive.ubuntu.com) than from an IP. Runs only for DNS responses,
// so it may allocate.
import ipaddr from 'ipaddr.js';

export interface DnsAnswer {
  ip: string; // canonical text form (RFC 5952 for IPv6)
  name: string; // the name the client asked for, after following CNAMEs back
  ttl: number;
}

const MAX_LABEL_LENGTH = 128;

/**
 * Label-safe form of a name learned from the wire: lower case, [a-z0-9.-_], bounded length. A name that
 * would read as the bucket of the remotes without a series ("other") keeps a trailing dot, so that it
 * cannot merge with it; an empty name is '' and is never learned.
 */
const CLEAN_NAME = /^[a-z0-9_-][a-z0-9._-]{0,127}$/;

export function sanitizeName(raw: string): string {
  // most names already are: nothing made for them
  if (CLEAN_NAME.test(raw) && !raw.endsWith('.') && raw !== 'other') return raw;
  let s = raw.toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  s = s.replace(/[^a-z0-9._-]/g, '_');
  // keep the end: the registered domain says more than the first labels
  if (s.length > MAX_LABEL_LENGTH) s = '~' + s.slice(s.length - MAX_LABEL_LENGTH + 1);
  if (s === 'other') s = 'other.';
  return s;
}

/**
 * Parse a DNS message (msg[start, start + len)); returns the A/AAAA answers of a response, each named
 * by the question (CNAME chains followed back). Throws on a malformed message.
 */
export function parseDnsAnswers(msg: Buffer, start = 0, len = msg.length - start): DnsAnswer[] {
  const end = Math.min(start + len, msg.length);
  const head = readHead(msg, start, end);
  return head.response ? readAnswers(msg, start, end, head) : [];
}

// A DNS message read straight from its bytes, as RFC 1035 lays it out: a library's whole decode made
// every question this host sent (a sixth of a Kubernetes node's packets) cost several times an
// ordinary packet in objects; here a question is one string, and only the answers to this host's
// questions are read further. Malformed messages throw, as the library's decode did.

/** The header and first question of a message (the scratch of readHead: nothing else made). */
interface Head {
  response: boolean;
  /** The first question's name, lower case; undefined without a question. */
  question: string | undefined;
  answers: number;
  /** Where the answer section starts. */
  answersAt: number;
}

const head: Head = { response: false, question: undefined, answers: 0, answersAt: 0 };
/** A name's bytes, lower-cased, dots between labels (names are 255 bytes at most). */
const nameBytes = Buffer.alloc(256);
let nameEnd = 0;

// A message is msg[base, end): read where the packet holds it, no view made per message. Offsets are
// the buffer's; compression pointers count from the message's start.

/** The name at `off` (compression pointers followed, backwards only), lower case; returns the offset after it where it is written. */
function readName(msg: Buffer, base: number, end: number, off: number): number {
  let n = 0;
  let after = -1;
  let earliest = off;
  let total = 0;
  let wide = false;
  for (;;) {
    if (off >= end) throw new Error('Cannot decode name (buffer overflow)');
    const len = msg[off++];
    if (len === 0) break;
    if ((len & 0xc0) === 0) {
      if (off + len > end) throw new Error('Cannot decode name (buffer overflow)');
      total += len + 1;
      if (total > 254) throw new Error('Cannot decode name (name too long)');
      if (n > 0) nameBytes[n++] = 46;
      for (let i = 0; i < len; i++) {
        const c = msg[off + i];
        if (c >= 0x80) wide = true;
        nameBytes[n++] = c >= 65 && c <= 90 ? c + 32 : c;
      }
      off += len;
    } else if ((len & 0xc0) === 0xc0) {
      if (off >= end) throw new Error('Cannot decode name (buffer overflow)');
      const jump = base + (((len & 0x3f) << 8) | msg[off]);
      // only pointers to what came before (RFC 1035 4.1.4): no loop can be made of them
      if (jump >= earliest) throw new Error('Cannot decode name (bad pointer)');
      if (after < 0) after = off + 1;
      off = earliest = jump;
    } else throw new Error('Cannot decode name (bad label)');
  }
  nameEnd = wide ? -n : n;
  return after < 0 ? off : after;
}

/** The name readName read, as text (UTF-8 where a label holds such bytes). */
function nameText(): string {
  if (nameEnd === 0) return '.';
  return nameEnd > 0 ? nameBytes.toString('latin1', 0, nameEnd) : nameBytes.toString('utf8', 0, -nameEnd).toLowerCase();
}

function readHead(msg: Buffer, base: number, end: number): Head {
  if (end - base < 12) throw new Error('DNS message shorter than its header');
  head.response = (msg[base + 2] & 0x80) !== 0;
  const questions = (msg[base + 4] << 8) | msg[base + 5];
  head.answers = (msg[base + 6] << 8) | msg[base + 7];
  head.question = undefined;
  let off = base + 12;
  for (let q = 0; q < questions; q++) {
    off = readName(msg, base, end, off);
    if (q === 0) head.question = nameText();
    off += 4;
    if (off > end) throw new Error('Cannot decode question (buffer overflow)');
  }
  head.answersAt = off;
  return head;
}

/** The A and AAAA answers, each named by the name asked (CNAME chains followed back). */
function readAnswers(msg: Buffer, base: number, end: number, h: Head): DnsAnswer[] {
  const found: { ip: string; name: string; ttl: number }[] = [];
  // target → owner, to walk a chain backwards
  let cnameOwner: Map<string, string> | undefined;
  let off = h.answersAt;
  for (let a = 0; a < h.answers; a++) {
    off = readName(msg, base, end, off);
    if (off + 10 > end) throw new Error('Cannot decode answer (buffer overflow)');
    const type = (msg[off] << 8) | msg[off + 1];
    const ttl = msg.readUInt32BE(off + 4);
    const len = (msg[off + 8] << 8) | msg[off + 9];
    const data = off + 10;
    if (data + len > end) throw new Error('Cannot decode answer (buffer overflow)');
    if (type === 1 && len === 4) found.push({ ip: `${msg[data]}.${msg[data + 1]}.${msg[data + 2]}.${msg[data + 3]}`, name: nameText(), ttl });
    else if (type === 28 && len === 16) found.push({ ip: ipaddr.fromByteArray([...msg.subarray(data, data + 16)]).toString(), name: nameText(), ttl });
    else if (type === 5) {
      const owner = nameText();
      readName(msg, base, end, data);
      (cnameOwner ??= new Map()).set(nameText(), owner);
    }
    off = data + len;
  }
  const out: DnsAnswer[] = [];
  for (const f of found) {
    let name = f.name;
    for (let hops = 0; cnameOwner !== undefined && hops < 16; hops++) {
      const owner = cnameOwner.get(name);
      if (owner === undefined || owner === name) break;
      name = owner;
    }
    const clean = sanitizeName(name);
    if (clean !== '') out.push({ ip: f.ip, name: clean, ttl: f.ttl });
  }
  return out;
}

/**
 * Keep a Map in insertion order at `capacity` entries, dropping the oldest 1/16 at once when over: a
 * Map's first live key lies behind every key deleted before it until the Map rehashes, so dropping one
 * at a time from the front is quadratic under a flood of new keys.
 */
export function trimOldest<K, V>(map: Map<K, V>, capacity: number, drop: (key: K) => void = (k) => map.delete(k)): void {
  if (map.size <= capacity) return;
  let n = map.size - capacity + (capacity >> 4);
  for (const k of map.keys()) {
    drop(k);
    if (--n <= 0) break;
  }
}

/**
 * The cache's key of an address: an IPv4 address as a number (a small integer to V8, no string to keep
 * per name), an IPv6 address as its canonical text.
 */
type NameKey = number | string;

function nameKey(ip: string): NameKey {
  if (ip.includes(':')) return ip;
  let a = 0;
  let part = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      a = (a << 8) | part;
      part = 0;
    } else {
      part = part * 10 + c - 48;
    }
  }
  return (a << 8) | part;
}

/** Names learned in one generation of the cache: an index per address into two plain arrays. */
class NameGeneration {
  readonly slotOf = new Map<NameKey, number>();
  readonly names: string[] = [];
  readonly expires: number[] = [];

  get size(): number {
    return this.slotOf.size;
  }

  /** Learned again here: the name and expiry are replaced in place. False when not here. */
  update(ip: NameKey, name: string, expires: number): boolean {
    const s = this.slotOf.get(ip);
    if (s === undefined) return false;
    this.names[s] = name;
    this.expires[s] = expires;
    return true;
  }

  add(ip: NameKey, name: string, expires: number): void {
    this.slotOf.set(ip, this.names.length);
    this.names.push(name);
    this.expires.push(expires);
  }

  get(ip: NameKey, now: number): string | undefined {
    const s = this.slotOf.get(ip);
    if (s === undefined) return undefined;
    if (this.expires[s] < now) {
      this.slotOf.delete(ip);
      return undefined;
    }
    return this.names[s];
  }
}

/**
 * IP → name, bounded in size, expiring by packet time. Entries live at least `minTtlSeconds`:
 * connections outlive DNS TTLs of 60 s by far, and the name should stay with them. Two generations of
 * half the capacity each: names are learned into the young one; when it is full it becomes the old
 * one, and the old one is dropped whole. So the newest capacity/2 to capacity names are kept, and no
 * name is ever deleted one at a time: a JS Map trimmed at every new key keeps its deleted entries until
 * it rehashes, and its table had doubled to hold them (7.3 MB of a 100,000-name cache under a flood).
 */
export class NameCache {
  private young = new NameGeneration();
  private old = new NameGeneration();
  private readonly half: number;

  constructor(
    readonly capacity = 100_000,
    readonly minTtlSeconds = 3600,
  ) {
    this.half = Math.max(1, capacity >> 1);
  }

  /** Names held (a name learned again after its generation aged counts in both until the old goes). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** `ip` in canonical text form (dotted quad, RFC 5952), as answers give it. */
  set(ip: string, name: string, ttl: number, now: number): void {
    const key = nameKey(ip);
    const expires = now + Math.max(ttl, this.minTtlSeconds);
    if (this.young.update(key, name, expires)) return;
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new NameGeneration();
    }
    this.young.add(key, name, expires);
  }

  get(ip: string, now: number): string | undefined {
    return this.lookup(nameKey(ip), now);
  }

  /** get() of an IPv4 address as a 32-bit number: no text made to look it up. */
  get4(addr: number, now: number): string | undefined {
    return this.lookup(addr | 0, now);
  }

  private lookup(key: NameKey, now: number): string | undefined {
    return this.young.get(key, now) ?? this.old.get(key, now);
  }
}

/** What a DNS message on the wire was, for a host that only trusts answers to its own questions. */
export type DnsSeen =
  | { kind: 'query' }
  | { kind: 'answers'; answers: DnsAnswer[] }
  | { kind: 'unsolicited' }
  | { kind: 'ignored' };

const MAX_PENDING = 4096;
// what a question, or a message that names nothing, was: one object each, none made per message
const QUERY: DnsSeen = Object.freeze({ kind: 'query' });
const IGNORED: DnsSeen = Object.freeze({ kind: 'ignored' });
const UNSOLICITED: DnsSeen = Object.freeze({ kind: 'unsolicited' });
/** A pending question's key: the client's port and the message id as one number. */
export const portIdOf = (port: number, id: number): number => port * 65536 + id;

/**
 * DNS messages decoded per second of packet time, at most: a burst of DNS (a resolver's own traffic, a
 * flood that passes the early check) is dropped and counted beyond it, never paid for by counting. At
 * ~5 µs a message, the default 20,000/s is a tenth of a core at most.
 */
export class DnsBudget {
  private tokens: number;
  private last = -Infinity;

  constructor(readonly perSecond = 20_000) {
    this.tokens = perSecond;
  }

  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = this.last === -Infinity ? this.perSecond : Math.min(this.perSecond, this.tokens + (now - this.last) * this.perSecond);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
const PENDING_SECONDS = 30;

/** A question this host asked, waiting for its answer; others with the same client port and id chained behind it. */
interface Pending {
  /** The client's address: an IPv4 address as a number, an IPv6 one as text (so are the server's). */
  local: number | string;
  server: number | string;
  name: string;
  at: number;
  next: Pending | undefined;
}

/**
 * DNS queries this host sent, so that only answers to them name remotes: an unsolicited "response"
 * (any UDP packet from port 53) must not rename a heavy remote. Matched on the client's address and
 * port, the message id, the question and the server asked. Bounded; entries expire by packet time.
 * Keyed by client port and id as one number (no text made per message; a Kubernetes node asks
 * thousands of questions a second), the rare questions sharing them chained.
 */
export class DnsQueries {
  private readonly pending = new Map<number, Pending>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * Whether a message to `localPort` with this id can answer a pending question. From the header's
   * bytes alone (one map read, nothing made): what is not is unsolicited without more work, so a
   * flood of garbage from port 53 costs about what an ordinary packet does.
   */
  mayAnswer(localPort: number, id: number): boolean {
    return this.pending.has(portIdOf(localPort, id));
  }

  /**
   * A DNS message between this host (local) and a server. `fromClient`: local sent it to port 53.
   * Throws on a malformed message.
   */
  see(msg: Buffer, start: number, len: number, fromClient: boolean, local: number | string, localPort: number, server: number | string, now: number): DnsSeen {
    if (len < 12) throw new Error('DNS message shorter than its header');
    // the message's id is its first two bytes
    const portId = portIdOf(localPort, (msg[start] << 8) | msg[start + 1]);
    if (!fromClient) {
      // an answer is decoded only if it can answer a question this host asked: a flood of garbage
      // "answers" from port 53 then costs a lookup, not a parse (hundreds of microseconds each, on the
      // thread that also counts)
      if ((msg[start + 2] & 0x80) === 0) return IGNORED; // a query from port 53, not an answer
      if (!this.pending.has(portId)) return UNSOLICITED;
    }
    const end = Math.min(start + len, msg.length);
    const h = readHead(msg, start, end);
    if (h.question === undefined) return IGNORED;
    const name = h.question;
    let p = this.pending.get(portId);
    while (p !== undefined && p.local !== local) p = p.next;
    if (fromClient) {
      if (h.response) return IGNORED;
      if (p !== undefined) {
        // the same client, port and id asking again (a retry): the newer question stands
        p.name = name;
        p.server = server;
        p.at = now;
        return QUERY;
      }
      this.pending.set(portId, { local, server, name, at: now, next: this.pending.get(portId) });
      if (++this.count > MAX_PENDING) this.trim();
      return QUERY;
    }
    if (p === undefined || p.name !== name || p.server !== server || now - p.at > PENDING_SECONDS) return UNSOLICITED;
    // a server may send several answers to one id (truncation, retries): keep the entry until it expires
    return { kind: 'answers', answers: readAnswers(msg, start, end, h) };
  }

  /** The oldest sixteenth dropped at once (a Map keeps insertion order; trimOldest says why not one at a time). */
  private trim(): void {
    const keep = MAX_PENDING - (MAX_PENDING >> 4);
    for (const k of this.pending.keys()) {
      for (let p = this.pending.get(k); p !== undefined; p = p.next) this.count--;
      this.pending.delete(k);
      if (this.count <= keep) break;
    }
  }
}
