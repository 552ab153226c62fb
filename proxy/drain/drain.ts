// RUNNING → DRAINING → DRAINED, once. Readiness drops at once; after the drain
// delay, upgrades are refused and open connections get close 1012 (client) and
// 1001 (app) in random order, spread evenly over the drain window; whatever is
// left at the deadline is destroyed. A second trigger joins the drain under way.
import { randomInt } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { TunnelRegistry } from '../data-path/registry.js';
import type { TunnelShape } from '../data-path/tunnel-shape.js';
import { closePolitely } from './polite-close.js';

/** Upgrades admitted but not yet answered by the app: they may still become tunnels. */
export interface PendingHandshakes {
  readonly pendingHandshakes: number;
  /** Gives them all up; returns how many there were. */
  abortHandshakes(): number;
}

export type DrainPhase = 'running' | 'delaying' | 'closing' | 'drained';

export interface DrainSummary {
  readonly trigger: string;
  readonly connectionsAtStart: number;
  /** Connections that reached the closing phase (including those opened during the delay). */
  readonly connectionsDrained: number;
  /** Destroyed at the deadline instead of closing politely. */
  readonly destroyedAtDeadline: number;
  readonly durationMs: number;
}

export class Drain {
  private phaseNow: DrainPhase = 'running';
  private finished: Promise<DrainSummary> | undefined;
  private trigger = '';
  private startedAtMs = 0;
  private connectionsAtStart = 0;
  private connectionsDrained = 0;
  private destroyedAtDeadline = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The next step of the spread closes (one timer, re-armed). */
  private stepTimer: NodeJS.Timeout | undefined;

  private readonly startedListeners: Array<() => void> = [];

  private resolveFinished: ((summary: DrainSummary) => void) | undefined;

  constructor(
    private readonly config: Config,
    private readonly registry: TunnelRegistry,
    private readonly handshakes: PendingHandshakes,
    private readonly logger: Logger,
  ) {
    registry.onClosed(this.finishIfEmpty);
  }

  get phase(): DrainPhase {
    return this.phaseNow;
  }

  /** Readiness is off from the first moment of a drain. */
  get isDraining(): boolean {
    return this.phaseNow !== 'running';
  }

  /** New upgrades are refused once the drain delay is over. */
  get rejectsUpgrades(): boolean {
    return this.phaseNow === 'closing' || this.phaseNow === 'drained';
  }

  /** Called once, when the drain begins (e.g. to tell the fleet at once). */
  onStarted(listener: () => void): void {
    this.startedListeners.push(listener);
  }

  /** Starts the drain, or joins the one under way; resolves when no connection is left. */
  start(trigger: string): Promise<DrainSummary> {
    if (this.finished) {
      this.logger.info({ trigger, phase: this.phaseNow }, 'drain already under way');
      return this.finished;
    }
    this.trigger = trigger;
    this.startedAtMs = Date.now();
    this.connectionsAtStart = this.registry.size;
    this.phaseNow = 'delaying';
    this.logger.info({ trigger, connections: this.connectionsAtStart, delayMs: this.config.drainDelayMs }, 'drain started');
    for (const listener of this.startedListeners) listener();
    this.finished = new Promise<DrainSummary>((resolve) => {
      this.resolveFinished = resolve;
      this.later(this.config.drainTimeoutMs, () => this.destroyTheRest());
      this.later(this.config.drainDelayMs, () => {
        this.closeAllSpread();
        this.finishIfEmpty();
      });
    });
    return this.finished;
  }

  /** A tunnel whose handshake finishes once the closing began is closed at once. */
  readonly onTunnelOpened = (tunnel: TunnelShape): void => {
    if (!this.rejectsUpgrades) return;
    this.connectionsDrained++;
    this.closeOne(tunnel);
  };

  /** Done when no tunnel is left and no admitted handshake can still become one. */
  readonly finishIfEmpty = (): void => {
    if (this.phaseNow !== 'closing' || this.registry.size > 0 || this.handshakes.pendingHandshakes > 0) return;
    this.complete();
  };

  private closeAllSpread(): void {
    this.phaseNow = 'closing';
    const tunnels = shuffle(this.registry.list());
    this.connectionsDrained += tunnels.length;
    const count = tunnels.length;
    if (count === 0) return;
    // Evenly spaced closes: the i-th at i × spread / n, walked by one timer chain.
    const intervalMs = this.config.drainSpreadMs / count;
    const startedAt = performance.now();
    let next = 0;
    const step = (): void => {
      const due = intervalMs === 0 ? count : Math.min(count, Math.floor((performance.now() - startedAt) / intervalMs) + 1);
      while (next < due) this.closeOne(tunnels[next++]!);
      if (next < count) this.stepTimer = setTimeout(step, Math.max(0, startedAt + next * intervalMs - performance.now()));
    };
    step();
  }

  private closeOne(tunnel: TunnelShape): void {
    const delayMs = closePolitely(tunnel, 'draining', this.config.retryAfterMs);
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ clientIp: tunnel.clientIp, delayMs }, 'closing connection');
  }

  /** The deadline ends the drain whatever is left: tunnels and handshakes still waiting on the app. */
  private destroyTheRest(): void {
    if (this.phaseNow === 'drained') return;
    const rest = this.registry.list();
    const handshakes = this.handshakes.abortHandshakes();
    this.destroyedAtDeadline = rest.length + handshakes;
    if (this.destroyedAtDeadline > 0) this.logger.warn({ connections: rest.length, handshakes }, 'drain deadline reached: destroying the rest');
    for (const tunnel of rest) tunnel.destroy();
    // Not waiting for the sockets' 'close': a drain that was given a deadline keeps it.
    this.complete();
  }

  private complete(): void {
    if (this.phaseNow === 'drained') return;
    this.resolveFinished?.(this.finish());
  }

  private finish(): DrainSummary {
    this.phaseNow = 'drained';
    for (const timer of this.timers) clearTimeout(timer);
    clearTimeout(this.stepTimer);
    const summary: DrainSummary = {
      trigger: this.trigger,
      connectionsAtStart: this.connectionsAtStart,
      connectionsDrained: this.connectionsDrained,
      destroyedAtDeadline: this.destroyedAtDeadline,
      durationMs: Date.now() - this.startedAtMs,
    };
    this.logger.info(summary, 'drain finished');
    return summary;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(fn, ms);
    this.timers.push(timer);
  }
}

/** Fisher–Yates: the order in which clients are told to leave is random. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
