// The fleet flags: defaults, checks that report every problem, and a Redis password that
// never leaves the process (not in /status's summary, not in an error message).
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../proxy/config/config.js';
import { configSummary } from '../../proxy/config/config-summary.js';

function problemsOf(values: Record<string, string | boolean>, env: Record<string, string> = {}): string[] {
  const result = loadConfig(values, env);
  return result.ok ? [] : result.problems;
}

function configOf(values: Record<string, string | boolean>, env: Record<string, string> = {}) {
  const result = loadConfig(values, env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.config;
}

describe('fleet flags', () => {
  it('are off by default, with the design defaults', () => {
    const config = configOf({});
    expect(config.fleetRedis).toBeUndefined();
    expect(config).toMatchObject({
      fleetName: 'default',
      podName: hostname(),
      revision: '',
      fleetHeartbeatMs: 2000,
      fleetTimeoutMs: 250,
      rebalance: false,
      rebalanceThreshold: 0.2,
      rebalanceMinExcess: 10,
      rebalanceRate: 0.01,
      rebalanceMinAgeMs: 60_000,
      fleetShadow: false,
    });
    expect(configSummary(config)['fleet-redis']).toBe('(unset)');
  });

  it('take redis:// and rediss:// URLs and show them with the password redacted', () => {
    const password = 'hunter2-very-secret';
    const config = configOf({ 'fleet-redis': `redis://app:${password}@redis.example:6380/2`, 'pod-name': 'chat-7f9c-x2x', revision: '7f9c' });
    expect(config.fleetRedis!.url).toContain(password);
    expect(config.fleetRedis!.shown).toBe('redis://app:(redacted)@redis.example:6380/2');
    const summary = configSummary(config);
    expect(summary['fleet-redis']).toBe('redis://app:(redacted)@redis.example:6380/2');
    expect(JSON.stringify(summary)).not.toContain(password);
    expect(configOf({}, { WS_SIDECAR_FLEET_REDIS: 'rediss://:tok@r:6379' }).fleetRedis!.shown).toBe('rediss://:(redacted)@r:6379');
    expect(configOf({ 'fleet-redis': 'redis://r' }).fleetRedis!.shown).toBe('redis://r');
  });

  it('refuse a bad Redis URL without echoing it', () => {
    const password = 'p4ss-in-a-bad-url';
    for (const bad of [`http://u:${password}@r:6379`, `redis://u:${password}@r:6379/path/x`, `redis://u:${password}@r:6379?db=1`, 'redis://']) {
      const problems = problemsOf({ 'fleet-redis': bad });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^--fleet-redis: not a Redis URL/);
      expect(problems[0]).not.toContain(password);
    }
    const fromEnv = problemsOf({}, { WS_SIDECAR_FLEET_REDIS: `ftp://u:${password}@x` });
    expect(fromEnv[0]).toMatch(/^WS_SIDECAR_FLEET_REDIS/);
    expect(fromEnv[0]).not.toContain(password);
  });

  it('report every fleet problem at once', () => {
    const problems = problemsOf({
      'fleet-redis': 'redis://127.0.0.1:6379',
      'fleet-name': '',
      'fleet-heartbeat': '0.05',
      'fleet-timeout': '0',
      'rebalance-threshold': '11',
      'rebalance-rate': '0',
    });
    expect(problems).toEqual([
      '--fleet-name must not be empty',
      '--fleet-heartbeat must be at least 0.1 seconds',
      '--fleet-timeout must be more than 0',
      '--rebalance-threshold must be at most 10 (1000% over the fair share)',
      '--rebalance-rate must be more than 0 and at most 1 (a share of the connections per second)',
    ]);
    expect(problemsOf({ 'fleet-redis': 'redis://r', 'fleet-heartbeat': '1', 'fleet-timeout': '1' })).toEqual(['--fleet-timeout must be shorter than --fleet-heartbeat']);
  });

  it('refuse names that would break the hash tag, and fleet features without a store', () => {
    expect(problemsOf({ 'fleet-name': 'a{b}' })[0]).toMatch(/^--fleet-name: "a\{b\}" is not a name/);
    expect(problemsOf({ 'pod-name': 'pod one' })[0]).toMatch(/^--pod-name:/);
    expect(problemsOf({ rebalance: true, 'fleet-shadow': true })).toEqual(['--rebalance needs --fleet-redis', '--fleet-shadow needs --fleet-redis']);
    expect(configOf({ 'fleet-name': 'chat/chat-server' }).fleetName).toBe('chat/chat-server');
  });
});
