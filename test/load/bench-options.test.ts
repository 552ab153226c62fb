// `npm run bench` options: peers run in the order given (direct first), rounds alternate
// that order so the machine's drift falls on every peer, and bad values are refused.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, roundPlan } from '../../load/bench-options.js';

describe('bench options', () => {
  it('runs direct first, then the peers in the order given, and reverses them every other round', () => {
    const plan = parseBenchArgs(['--peers', 'nginx,ws-sidecar,node-floor,nginx', '--rounds', '3'], '/tmp/out');
    expect(plan.rounds).toBe(3);
    expect(roundPlan(plan, 0).peers).toEqual(['direct', 'nginx', 'ws-sidecar', 'node-floor']);
    expect(roundPlan(plan, 1).peers).toEqual(['direct', 'node-floor', 'ws-sidecar', 'nginx']);
    expect(roundPlan(plan, 2).peers).toEqual(roundPlan(plan, 0).peers);
    expect(plan.peers).toEqual(['direct', 'nginx', 'ws-sidecar', 'node-floor']);
  });

  it('refuses unknown peers and rounds that are not a whole number from 1 to 20', () => {
    expect(() => parseBenchArgs(['--peers', 'envoy'], '/tmp/out')).toThrow(/unknown peer\(s\) envoy/);
    for (const rounds of ['0', '2.5', 'three', '21']) expect(() => parseBenchArgs(['--rounds', rounds], '/tmp/out'), rounds).toThrow(/--rounds/);
    expect(parseBenchArgs([], '/tmp/out').rounds).toBe(1);
  });
});
