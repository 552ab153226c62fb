// The rebalancer's rules on numbers: fair share over live, non-draining pods, the start and stop
// thresholds, the minimum excess, and every pause of the design.
import { describe, expect, it } from 'vitest';
import type { FleetMember } from '../../proxy/fleet/membership.js';
import { assessBalance, fleetBalance, shedPerSecond } from '../../proxy/fleet/rebalance-decision.js';

const pod = (name: string, connections: number, extra: Partial<FleetMember> = {}): FleetMember => ({
  pod: name,
  revision: 'r1',
  connections,
  maxConnections: 1000,
  ready: true,
  draining: false,
  lastSeenMs: 0,
  ...extra,
});
const rules = { threshold: 0.2, minExcess: 10 };

describe('rebalance decision', () => {
  it('computes the fair share over live, non-draining pods', () => {
    expect(fleetBalance([pod('a', 300), pod('b', 300), pod('c', 0)])).toEqual({ total: 600, fairShare: 200, servingPods: 3 });
    expect(fleetBalance([pod('a', 90), pod('b', 30, { draining: true })])).toEqual({ total: 120, fairShare: 120, servingPods: 1 });
    expect(fleetBalance([]).fairShare).toBe(0);
  });

  it('starts above fair × (1 + threshold) with the minimum excess, and stops within threshold/4', () => {
    const scaledOut = assessBalance([pod('a', 300), pod('b', 300), pod('c', 0)], 'a', true, rules);
    expect(scaledOut).toMatchObject({ kind: 'assessed', overStart: true, excessBelowMinimum: false, stopAt: 210 });
    // 240 = 200 × 1.2 exactly: not above the threshold.
    expect(assessBalance([pod('a', 240), pod('b', 180), pod('c', 180)], 'a', true, rules)).toMatchObject({ overStart: false, excessBelowMinimum: false });
    expect(assessBalance([pod('a', 0), pod('b', 300), pod('c', 300)], 'a', true, rules)).toMatchObject({ overStart: false });
  });

  it('does not start for a small absolute excess', () => {
    // 8 vs a fair share of 4: twice the share, but only 4 over.
    expect(assessBalance([pod('a', 8), pod('b', 2), pod('c', 2)], 'a', true, rules)).toMatchObject({ overStart: false, excessBelowMinimum: true });
    expect(assessBalance([pod('a', 8), pod('b', 2), pod('c', 2)], 'a', true, { threshold: 0.2, minExcess: 0 })).toMatchObject({ overStart: true });
  });

  it('pauses without the store, below two pods, while any pod drains, and while two revisions are live', () => {
    const fleet = [pod('a', 300), pod('b', 0)];
    expect(assessBalance(fleet, 'a', false, rules)).toMatchObject({ kind: 'paused', reason: 'store_down' });
    expect(assessBalance([pod('a', 300)], 'a', true, rules)).toMatchObject({ kind: 'paused', reason: 'too_few_pods' });
    expect(assessBalance([...fleet, pod('c', 5, { draining: true })], 'a', true, rules)).toMatchObject({ kind: 'paused', reason: 'pod_draining' });
    expect(assessBalance([pod('a', 300), pod('b', 0, { revision: 'r2' })], 'a', true, rules)).toMatchObject({ kind: 'paused', reason: 'rollout' });
  });

  it('sheds at the configured share of connections per second, never below one', () => {
    expect(shedPerSecond(0.01, 300)).toBe(3);
    expect(shedPerSecond(0.01, 50)).toBe(1);
  });
});
