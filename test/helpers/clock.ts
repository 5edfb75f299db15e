import type { Clock } from '../../src/index.js';

/** A hand-driven clock: tests move time instead of waiting for it. */
export class ManualClock implements Clock {
  constructor(
    public t = 0,
    public wall = 1_800_000_000_000,
  ) {}
  now = (): number => this.t;
  wallNow = (): number => this.wall + this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A logger that keeps its records. */
export function memoryLogger() {
  const records: { level: 'info' | 'warn' | 'error'; record: Record<string, unknown>; message: string }[] = [];
  const at = (level: 'info' | 'warn' | 'error') => (record: Record<string, unknown>, message: string) => {
    records.push({ level, record, message });
  };
  return { records, info: at('info'), warn: at('warn'), error: at('error') };
}

export const boom = (message = 'boom') => {
  throw new Error(message);
};
