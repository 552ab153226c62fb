// The rebalancer (--rebalance): after each heartbeat it compares this pod's connections with
// the fleet's fair share. Over fair × (1 + threshold) by at least the minimum excess for
// CHECKS_TO_START checks in a row, it sheds — one polite close (1012 `rebalancing`, 1001 to
// the app, at boundaries: the drain's own path) at a time, at most --rebalance-rate of its
// connections per second — until it is within fair × (1 + threshold / 4). Oldest idle
// connections go first; none younger than --rebalance-min-age; none opened after shedding
// began since the fleet last changed, so a client is moved at most once per scale event.
// With --fleet-shadow it decides and counts the same closes without making them.
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { TunnelRegistry } from '../data-path/registry.js';
import type { TunnelShape as Tunnel } from '../data-path/tunnel-shape.js';
import { closePolitely } from '../drain/polite-close.js';
import type { FleetMember, FleetSnapshot } from './membership.js';
import { assessBalance, shedPerSecond, type RebalanceReason, type RebalanceState } from './rebalance-decision.js';

/** Checks in a row over the start threshold before shedding begins (hysteresis in time). */
export const CHECKS_TO_START = 3;

export interface RebalanceStatus {
  readonly enabled: boolean;
  readonly state: RebalanceState;
  readonly reason?: RebalanceReason;
}

export interface RebalanceCounters {
  /** A polite close made (or, in shadow mode, one that would have been made). */
  onShed(shadow: boolean): void;
  /** A check decided without the store (it was down). */
  onLocalDecision(): void;
}

export class Rebalancer {
  private stateNow: RebalanceState = 'idle';
  private reasonNow: RebalanceReason | undefined;
  private checksOver = 0;
  private stopAt = Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** Oldest idle first, refreshed at every check. */
  private candidates: Tunnel[] = [];
  /** Connections opened at or after this are not shed until the fleet's pods change. */
  private cutoffMs: number | undefined;
  private podSet = '';
  /** Each tunnel's message count at the last check: unchanged means idle. */
  private readonly messagesSeen = new WeakMap<Tunnel, number>();
  /** Shadow mode: the closes it would have made, so each is counted once. */
  private shadowShed = new WeakSet<Tunnel>();
  private shadowCount = 0;
  /** After an episode, no new one starts before this: the moved clients are still landing. */
  private settleUntilMs = 0;
  /** Shed, and still in the registry while their close handshake runs: not live any more. */
  private readonly closing = new Set<Tunnel>();

  constructor(
    private readonly config: Config,
    private readonly registry: TunnelRegistry,
    private readonly counters: RebalanceCounters,
    private readonly logger: Logger,
  ) {
    registry.onClosed((tunnel) => {
      if (this.shadowShed.has(tunnel)) this.shadowCount--;
      this.closing.delete(tunnel);
    });
  }

  get status(): RebalanceStatus {
    if (!this.config.rebalance) return { enabled: false, state: 'idle' };
    return this.reasonNow === undefined ? { enabled: true, state: this.stateNow } : { enabled: true, state: this.stateNow, reason: this.reasonNow };
  }

  /** After a successful heartbeat. `storeUp` false when the snapshot is too old to act on. */
  readonly check = (snapshot: FleetSnapshot | undefined, storeUp: boolean): void => {
    if (!this.config.rebalance) return;
    const pods = snapshot ? this.withLiveCount(snapshot.pods) : [];
    this.notePodSet(pods);
    const assessment = assessBalance(pods, this.config.podName, storeUp && snapshot !== undefined, {
      threshold: this.config.rebalanceThreshold,
      minExcess: this.config.rebalanceMinExcess,
    });
    if (assessment.kind === 'paused') {
      if (assessment.reason === 'store_down') this.counters.onLocalDecision();
      this.checksOver = 0;
      this.stopShedding('paused', assessment.reason);
      return;
    }
    this.refreshCandidates();
    if (this.stateNow === 'shedding') {
      // Within an episode the target only rises: the clients it moved are between pods, out of
      // every count, and a fair share taken without them would chase its own closes down.
      this.stopAt = Math.max(this.stopAt, assessment.stopAt);
      if (this.liveCount() <= this.stopAt) this.stopShedding('idle', 'balanced');
      return;
    }
    this.stopAt = assessment.stopAt;
    if (assessment.overStart && Date.now() < this.settleUntilMs) {
      this.checksOver = 0;
      this.setState('idle', 'settling');
      return;
    }
    if (!assessment.overStart) {
      this.checksOver = 0;
      this.setState('idle', assessment.excessBelowMinimum ? 'excess_below_minimum' : 'balanced');
      return;
    }
    if (++this.checksOver < CHECKS_TO_START) {
      this.setState('idle', 'confirming');
      return;
    }
    this.startShedding(assessment.balance.fairShare);
  };

  /** The store failed a beat: nothing is decided without it. */
  readonly storeFailed = (): void => this.check(undefined, false);

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private startShedding(fairShare: number): void {
    this.cutoffMs ??= Date.now();
    const connections = this.registry.size;
    const perSecond = shedPerSecond(this.config.rebalanceRate, connections);
    this.setState('shedding', 'over_fair_share');
    this.logger.info(
      { connections, fairShare: Math.round(fairShare * 100) / 100, stopAt: Math.floor(this.stopAt), perSecond, shadow: this.config.fleetShadow },
      'rebalancing: shedding connections above the fair share',
    );
    this.timer = setInterval(this.shedOne, 1000 / perSecond);
    this.timer.unref();
  }

  private stopShedding(state: RebalanceState, reason: RebalanceReason): void {
    if (this.stateNow === 'shedding') {
      this.logger.info({ connections: this.liveCount(), reason }, 'rebalancing stopped');
      // The longest delay_ms a moved client was given, then their new pods' next lease, read at our next beat.
      this.settleUntilMs = Date.now() + 1.5 * this.config.retryAfterMs + 3 * this.config.fleetHeartbeatMs;
    }
    this.stop();
    this.setState(state, reason);
  }

  private readonly shedOne = (): void => {
    if (this.liveCount() <= this.stopAt) {
      this.stopShedding('idle', 'balanced');
      return;
    }
    const tunnel = this.nextCandidate();
    if (!tunnel) return;
    if (this.config.fleetShadow) {
      this.shadowShed.add(tunnel);
      this.shadowCount++;
    } else {
      this.closing.add(tunnel);
      closePolitely(tunnel, 'rebalancing', this.config.retryAfterMs);
    }
    this.counters.onShed(this.config.fleetShadow);
  };

  private nextCandidate(): Tunnel | undefined {
    while (this.candidates.length > 0) {
      const tunnel = this.candidates.shift()!;
      if (!tunnel.isClosing && !this.shadowShed.has(tunnel) && this.registry.has(tunnel)) return tunnel;
    }
    return undefined;
  }

  /** Eligible tunnels, idle ones (no message since the last check) first, oldest first in each. */
  private refreshCandidates(): void {
    const oldestAllowed = Date.now() - this.config.rebalanceMinAgeMs;
    const cutoff = this.cutoffMs ?? Infinity;
    const idle: Tunnel[] = [];
    const busy: Tunnel[] = [];
    for (const tunnel of this.registry.values()) {
      const messages = tunnel.toApp.scanner.messages + tunnel.toClient.scanner.messages;
      const seen = this.messagesSeen.get(tunnel);
      this.messagesSeen.set(tunnel, messages);
      if (tunnel.isClosing || this.shadowShed.has(tunnel)) continue;
      if (tunnel.openedAtMs > oldestAllowed || tunnel.openedAtMs >= cutoff) continue;
      (seen === messages ? idle : busy).push(tunnel);
    }
    const oldestFirst = (a: Tunnel, b: Tunnel): number => a.openedAtMs - b.openedAtMs;
    this.candidates = [...idle.sort(oldestFirst), ...busy.sort(oldestFirst)];
  }

  /** Live connections: less those being closed, and those shadow mode pretends it closed. */
  private liveCount(): number {
    return this.registry.size - this.closing.size - (this.config.fleetShadow ? this.shadowCount : 0);
  }

  private withLiveCount(pods: readonly FleetMember[]): FleetMember[] {
    return pods.map((pod) => (pod.pod === this.config.podName ? { ...pod, connections: this.liveCount() } : pod));
  }

  /** A new scale event (pods joined or left) lets every connection be moved once more. */
  private notePodSet(pods: readonly FleetMember[]): void {
    if (pods.length === 0) return;
    const podSet = pods.map((pod) => pod.pod).join('\n');
    if (podSet === this.podSet) return;
    this.podSet = podSet;
    this.cutoffMs = undefined;
    this.shadowShed = new WeakSet();
    this.shadowCount = 0;
  }

  private setState(state: RebalanceState, reason: RebalanceReason): void {
    this.stateNow = state;
    this.reasonNow = reason;
  }
}
