// The /status config summary: every flag, in flag units, secrets never shown.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../proxy/config/config.js';
import { configSummary, REDACTED } from '../../proxy/config/config-summary.js';
import { RUN_FLAGS } from '../../proxy/config/flags.js';

function configOf(values: Record<string, string>, env: Record<string, string> = {}) {
  const result = loadConfig(values, env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.config;
}

describe('configSummary', () => {
  it('lists every run flag by name, in the units the flags take', () => {
    const summary = configSummary(configOf({ 'drain-spread': '2.5', listen: '[::1]:8081', 'upstream-check': 'ws:/ready', 'trusted-proxies': '10.0.0.0/8,192.168.0.0/16' }));
    expect(Object.keys(summary)).toEqual(RUN_FLAGS.map((flag) => flag.name));
    expect(summary).toMatchObject({
      'drain-spread': 2.5,
      'drain-timeout': 25,
      listen: '[::1]:8081',
      upstream: '127.0.0.1:3000',
      'upstream-check': 'ws:/ready',
      'trusted-proxies': ['10.0.0.0/8', '192.168.0.0/16'],
      'unready-at-capacity': false,
      'max-connections': 10000,
    });
  });

  it('says whether a secret is set, never what it is', () => {
    const secret = 's3cr3t-drain-token';
    const fromEnv = configSummary(configOf({}, { WS_SIDECAR_DRAIN_TOKEN: secret }));
    expect(fromEnv['drain-token']).toBe(REDACTED);
    expect(JSON.stringify(fromEnv)).not.toContain(secret);
    expect(configSummary(configOf({}))['drain-token']).toBe('(unset)');
  });
});
