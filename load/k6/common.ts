// Shared by the k6 scripts: target URL, payloads and the reconnect hint.
// k6 runs TypeScript directly (k6 ≥ 0.57); these files are type-checked with
// @types/k6 by `npm run typecheck:k6` and never bundled into the sidecar.

/** ws://host:port/path of the sidecar (or of any peer), from `-e TARGET=...`. */
export const TARGET = __ENV.TARGET || 'ws://127.0.0.1:8080/';

/** A text payload of `bytes` bytes carrying its send time, for round-trip times. */
export function timedPayload(bytes: number): string {
  const stamp = `${Date.now()}|`;
  return stamp + 'x'.repeat(Math.max(0, bytes - stamp.length));
}

/** Milliseconds since the payload was built (the echo carries the stamp back). */
export function ageOf(payload: string): number {
  return Date.now() - Number(payload.slice(0, payload.indexOf('|')));
}

/** The sidecar's close reason carries `delay_ms=<n>`; undefined when absent. */
export function reconnectDelayMs(reason: string | undefined): number | undefined {
  const match = /delay_ms=(\d+)/.exec(reason ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * The close event's code and reason (k6 ≥ 1.5 sets them; @types/k6 does not
 * declare them yet, hence this narrow view of the event).
 */
export interface CloseDetails {
  readonly code?: number;
  readonly reason?: string;
}
