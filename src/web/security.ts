// What a web configuration grants, apart from reading its file (web-config.ts, with the schema library,
// loaded only when there is a file): its users and their checks, TLS, extra headers.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { bcryptCost, PasswordChecks } from './password-check.js';

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface WebConfig {
  /** undefined: plain HTTP. */
  tls?: {
    context: SecureContextOptions;
    clientAuth: ClientAuthType;
    allowedSans?: string[];
  };
  users: Map<string, string>;
  headers: [string, string][];
}

/**
 * Checks basic auth against the bcrypt hashes, in the password thread (password-check.ts). A bcrypt
 * check costs tens of milliseconds by design: successful ones are remembered (by a SHA-256 of user,
 * password and hash), so that a scrape every few seconds does not pay it each time, and a flood of
 * wrong passwords does not hold up a scraper that has the right one. Bounded like every other table.
 */
export class BasicAuth {
  private readonly ok = new Set<string>();
  /** What an unknown user's password is compared against: a hash of the users' highest cost. */
  private dummy: Promise<string> | undefined;

  constructor(
    private users: Map<string, string>,
    private readonly checks = new PasswordChecks(),
  ) {}

  setUsers(users: Map<string, string>): void {
    this.users = users;
    this.ok.clear();
    this.dummy = undefined;
  }

  get enabled(): boolean {
    return this.users.size > 0;
  }

  async check(header: string | undefined): Promise<'ok' | 'wrong' | 'busy'> {
    if (!header?.startsWith('Basic ')) return 'wrong';
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'wrong';
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.users.get(user);
    if (hash !== undefined && this.ok.has(this.key(user, password, hash))) return 'ok';
    // an unknown user costs a comparison of the same cost: the time must not tell which users exist
    this.dummy ??= this.checks.dummyHash(Math.max(...[...this.users.values()].map(bcryptCost)));
    const result = await this.checks.compare(password, hash ?? (await this.dummy));
    if (result === 'ok' && hash !== undefined) {
      if (this.ok.size >= 1024) this.ok.clear();
      this.ok.add(this.key(user, password, hash));
      return 'ok';
    }
    return result === 'busy' ? 'busy' : 'wrong';
  }

  private key(user: string, password: string, hash: string): string {
    return createHash('sha256').update(`${user}\u0000${password}\u0000${hash}`).digest('hex');
  }
}

/** Modification time and size of a file, to notice changes cheaply. */
export function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}
