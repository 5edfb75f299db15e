import type { Logger, LogRecord } from '../../src/index.js';

/** Where log lines go (stdout by default). */
export type LineWriter = (line: string) => void;

/** Writes each line to stdout. */
export const stdoutWriter: LineWriter = (line) => {
  process.stdout.write(`${line}\n`);
};

/** Errors do not serialize with JSON.stringify; keep what helps someone reading the log. */
const serializable = (value: unknown): unknown =>
  value instanceof Error ? { name: value.name, message: value.message, ...('status' in value ? { status: value.status } : {}) } : value;

/** A logger (breakwater's `logger` shape) that writes one JSON object per line. */
export function jsonLogger(write: LineWriter = stdoutWriter): Logger & { line(level: string, record: LogRecord, message: string): void } {
  const line = (level: string, record: LogRecord, message: string) => {
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message };
    for (const [key, value] of Object.entries(record)) entry[key] = serializable(value);
    write(JSON.stringify(entry));
  };
  return {
    line,
    info: (record, message) => line('info', record, message),
    warn: (record, message) => line('warn', record, message),
    error: (record, message) => line('error', record, message),
  };
}
