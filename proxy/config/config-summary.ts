// The running configuration as flag name → value, for /status. Secrets are never shown.
import type { Address, Config, RedisTarget, TenantSource, UpstreamCheck } from './config.js';
import { configKeyOf, formatAddress, formatCheck, formatTenantSource } from './config.js';
import { RUN_FLAGS, type FlagSpec } from './flags.js';

export type SummaryValue = string | number | boolean | readonly string[];

export const REDACTED = '(redacted)';

export function configSummary(config: Config): Record<string, SummaryValue> {
  const summary: Record<string, SummaryValue> = {};
  for (const spec of RUN_FLAGS) {
    summary[spec.name] = shownValue(spec, (config as unknown as Record<string, unknown>)[configKeyOf(spec)]);
  }
  return summary;
}

function shownValue(spec: FlagSpec, value: unknown): SummaryValue {
  // Whether a secret is set is useful to know; its value never leaves the process.
  if (spec.secret) return value === '' || value === undefined ? '(unset)' : REDACTED;
  switch (spec.kind) {
    case 'address':
    case 'url':
      return formatAddress(value as Address);
    case 'seconds':
      return (value as number) / 1000;
    case 'check':
      return formatCheck(value as UpstreamCheck);
    case 'redis':
      return value === undefined ? '(unset)' : (value as RedisTarget).shown;
    case 'tenant':
      return formatTenantSource(value as TenantSource | undefined);
    default:
      return value as SummaryValue;
  }
}
