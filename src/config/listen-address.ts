import { ConfigError } from './errors.js';

export interface ListenAddress {
  host: string | undefined; // undefined: every address
  port: number;
}

/** "HOST:PORT", ":PORT" or "[v6]:PORT", as Prometheus exporters take --web.listen-address. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError(`--web.listen-address ${JSON.stringify(text)}: expected HOST:PORT, :PORT or [IPv6]:PORT`);
  }
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}
