// The one polite close the sidecar starts itself to move a client: 1012 with a reconnect hint
// to the client, 1001 to the app, each at a boundary (Tunnel.close). A drain and the fleet's
// rebalancer both go through here, so a moved client sees exactly what a drained one sees.
import { CloseCode, hintReason, reconnectDelayMs } from '../protocol/frames.js';
import type { TunnelShape as Tunnel } from '../data-path/tunnel-shape.js';

export type PoliteCloseCause = 'draining' | 'rebalancing';

/** Closes `tunnel` politely; returns the `delay_ms` hint it carries. */
export function closePolitely(tunnel: Tunnel, cause: PoliteCloseCause, retryAfterMs: number): number {
  const delayMs = reconnectDelayMs(retryAfterMs);
  tunnel.close(CloseCode.serviceRestart, hintReason(cause, delayMs), CloseCode.goingAway, `sidecar ${cause}`);
  return delayMs;
}
