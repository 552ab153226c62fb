// What the rebalancer should do, as a value: the fleet's fair share and this pod's excess,
// or why it must not act at all. Pure, so every rule of the design is tested on numbers.
import type { FleetMember } from './membership.js';

export type RebalanceState = 'idle' | 'shedding' | 'paused';

/** Why it does not shed: the pauses of the design, then the quiet reasons of an idle check. */
export type PauseReason = 'store_down' | 'too_few_pods' | 'pod_draining' | 'rollout';
export type IdleReason = 'balanced' | 'excess_below_minimum' | 'confirming' | 'settling';
export type RebalanceReason = PauseReason | IdleReason | 'over_fair_share';

export interface FleetBalance {
  /** Connections of every live pod. */
  readonly total: number;
  /** total ÷ live, non-draining pods (0 when there are none). */
  readonly fairShare: number;
  readonly servingPods: number;
}

export interface BalanceRules {
  readonly threshold: number;
  readonly minExcess: number;
}

export type Assessment =
  | { readonly kind: 'paused'; readonly reason: PauseReason; readonly balance: FleetBalance }
  | {
      readonly kind: 'assessed';
      readonly balance: FleetBalance;
      /** Above fair × (1 + threshold) by at least the minimum excess: a reason to start. */
      readonly overStart: boolean;
      readonly excessBelowMinimum: boolean;
      /** Shedding stops at or below this many connections: fair × (1 + threshold / 4). */
      readonly stopAt: number;
    };

export function fleetBalance(pods: readonly FleetMember[]): FleetBalance {
  const total = pods.reduce((sum, pod) => sum + pod.connections, 0);
  const servingPods = pods.filter((pod) => !pod.draining).length;
  return { total, fairShare: servingPods > 0 ? total / servingPods : 0, servingPods };
}

/** `pods` must carry this pod's own live count (the snapshot's may be a heartbeat old). */
export function assessBalance(pods: readonly FleetMember[], self: string, storeUp: boolean, rules: BalanceRules): Assessment {
  const balance = fleetBalance(pods);
  const paused = (reason: PauseReason): Assessment => ({ kind: 'paused', reason, balance });
  if (!storeUp) return paused('store_down');
  if (pods.length < 2) return paused('too_few_pods');
  if (pods.some((pod) => pod.draining)) return paused('pod_draining');
  if (new Set(pods.map((pod) => pod.revision)).size > 1) return paused('rollout');
  const mine = pods.find((pod) => pod.pod === self)?.connections ?? 0;
  const excess = mine - balance.fairShare;
  const aboveThreshold = mine > balance.fairShare * (1 + rules.threshold);
  const excessBelowMinimum = excess < Math.max(1, rules.minExcess);
  return {
    kind: 'assessed',
    balance,
    overStart: aboveThreshold && !excessBelowMinimum,
    excessBelowMinimum: aboveThreshold && excessBelowMinimum,
    stopAt: balance.fairShare * (1 + rules.threshold / 4),
  };
}

/** Closes per second while shedding: the share of connections, never below one per second. */
export function shedPerSecond(rate: number, connections: number): number {
  return Math.max(1, rate * connections);
}
