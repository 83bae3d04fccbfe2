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
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
