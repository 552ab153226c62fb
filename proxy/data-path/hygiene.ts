// Connection hygiene on one timer each: idle connections are closed (1001 both
// sides), and with --ping-interval clients are pinged between frames and closed
// when they miss two pongs — a dead half-open TCP peer is found without the app.
import type { Config } from '../config/config.js';
import { CloseCode, hintReason, reconnectDelayMs, SIDECAR_PING_FRAME } from '../protocol/frames.js';
import type { TunnelRegistry } from './registry.js';

/** Sweeps in a row without traffic: idle for between 1 and 1.5 idle timeouts. */
const IDLE_SWEEPS = 2;
const MISSED_PONGS = 2;

export class Hygiene {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: Config,
    private readonly registry: TunnelRegistry,
  ) {}

  start(): void {
    if (this.config.idleTimeoutMs > 0) this.every(this.config.idleTimeoutMs / IDLE_SWEEPS, () => this.sweepIdle());
    if (this.config.pingIntervalMs > 0) this.every(this.config.pingIntervalMs, () => this.pingAll());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  private sweepIdle(): void {
    for (const tunnel of this.registry.values()) {
      if (tunnel.isClosing) continue;
      if (tunnel.active) {
        tunnel.active = false;
        tunnel.idleSweeps = 0;
      } else if (++tunnel.idleSweeps >= IDLE_SWEEPS) {
        tunnel.close(CloseCode.goingAway, this.hint('idle timeout'), CloseCode.goingAway, 'idle timeout');
      }
    }
  }

  private pingAll(): void {
    for (const tunnel of this.registry.values()) {
      if (tunnel.isClosing) continue;
      if (tunnel.pingsUnanswered >= MISSED_PONGS) {
        tunnel.close(CloseCode.goingAway, this.hint('no pong from client'), CloseCode.goingAway, 'client stopped answering pings');
      } else if (tunnel.toClient.writeAtFrameBoundary(SIDECAR_PING_FRAME)) {
        tunnel.pingsUnanswered++;
      }
    }
  }

  private hint(reason: string): string {
    return hintReason(reason, reconnectDelayMs(this.config.retryAfterMs));
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
