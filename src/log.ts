import { pino } from 'pino';
import type { Logger as PinoLogger, LevelWithSilent } from 'pino';

export type Logger = PinoLogger;

/**
 * Paths that may carry credentials anywhere forcehook logs an object. The SessionId of an Outbound
 * Message, webhook signatures and secrets must never reach a log line.
 */
export const REDACT_PATHS = [
  'sessionId',
  '*.sessionId',
  'SessionId',
  '*.SessionId',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'headers["webhook-signature"]',
  'connectionString',
  '*.connectionString',
];

export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: 'forcehook' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return pino(options, (destination as pino.DestinationStream | undefined) ?? coalescedStdout());
}

interface Sink {
  write(chunk: string): unknown;
  flushSync?(): void;
  flush?(cb?: (err?: Error) => void): void;
}

/**
 * Standard output written once per turn of the event loop. Every request logs a line, and on a
 * busy web process the requests of one group commit finish in the same turn: their lines now leave
 * in one write instead of one write each (a write was 8-10% of the web process's CPU). Nothing waits
 * longer than the turn it was logged in, and what is pending when the process exits is written
 * synchronously, like pino's own destination does.
 */
class CoalescedStdout {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly sink: Sink) {
    process.once('exit', () => {
      this.drain();
      this.sink.flushSync?.();
    });
  }

  write(line: string): boolean {
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
    return true;
  }

  /** pino's `logger.flush()`. */
  flush(cb?: (err?: Error) => void): void {
    this.drain();
    if (this.sink.flush) this.sink.flush(cb);
    else cb?.();
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.sink.write(text);
  };
}

let stdout: CoalescedStdout | undefined;

/** One for the process, shared by every logger that writes to standard output, so lines keep their order. */
function coalescedStdout(): CoalescedStdout {
  // pino's default: its own asynchronous fd-1 writer, unless something replaced process.stdout.write (then that).
  const tampered = process.stdout.write !== (process.stdout.constructor as { prototype: NodeJS.WriteStream }).prototype.write;
  stdout ??= new CoalescedStdout(tampered ? process.stdout : pino.destination({ dest: process.stdout.fd || 1, sync: false }));
  return stdout;
}
