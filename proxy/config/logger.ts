// pino JSON logs on stdout: static messages, context as fields, errors under `err`.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'ws-sidecar'): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
