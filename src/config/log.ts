// Small structured logger on stderr: logfmt for people, json for log pipelines.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

export class Logger {
  constructor(
    private level: LogLevel = 'info',
    private format: LogFormat = 'logfmt',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  ) {}

  configure(level: LogLevel, format: LogFormat): void {
    this.level = level;
    this.format = format;
  }

  /** A logger of the same format and output that says nothing below `level` (or this one's, if higher). */
  atLeast(level: LogLevel): Logger {
    return new Logger(LEVELS[level] > LEVELS[this.level] ? level : this.level, this.format, this.write);
  }

  private log(level: LogLevel, msg: string, fields: Record<string, unknown>): void {
    if (LEVELS[level] < LEVELS[this.level]) return;
    const rec = { time: new Date().toISOString(), level, msg, ...fields };
    if (this.format === 'json') this.write(JSON.stringify(rec));
    else this.write(Object.entries(rec).map(([k, v]) => `${k}=${logfmtValue(v)}`).join(' '));
  }

  debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.log('error', msg, fields);
  }
}

export const log = new Logger();
