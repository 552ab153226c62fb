// Sidecar flag values for one pod: injector defaults < command-line defaults < pod annotations.
// Annotations are validated by the same code as the CLI; a bad one is a warning, never a failure.
import { loadConfig, parseFlagValue, type Config } from '../config/config.js';
import { RUN_FLAGS, findRunFlag } from '../config/flags.js';
import { flagAnnotations, INJECTOR_OWNED_FLAGS } from './annotations.js';

/** Injected pods drain politely by default: endpoints need a few seconds to drop the pod. */
export const INJECTED_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({ 'drain-delay': '5' });

export interface SidecarFlags {
  /** Flag name → raw value, only the flags that are set explicitly. */
  readonly values: Readonly<Record<string, string>>;
  readonly config: Config;
  readonly warnings: string[];
}

/** For the commands: problems with the flags given to `inject`/`webhook` as sidecar defaults. */
export function checkFlagDefaults(flags: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(flags)) {
    const spec = findRunFlag(name);
    if (!spec) problems.push(`--${name} is not a sidecar flag`);
    else if (INJECTOR_OWNED_FLAGS.includes(name)) problems.push(`--${name} is set by the injector for each pod`);
    else {
      const parsed = parseFlagValue(spec, raw);
      if (!parsed.ok) problems.push(parsed.problem);
    }
  }
  const merged = loadConfig({ ...INJECTED_DEFAULTS, ...flags }, {});
  if (problems.length === 0 && !merged.ok) problems.push(...merged.problems);
  return problems;
}

export function sidecarFlags(annotations: Readonly<Record<string, string>>, defaults: Readonly<Record<string, string>>): SidecarFlags {
  const warnings: string[] = [];
  const base: Record<string, string> = { ...INJECTED_DEFAULTS, ...defaults };
  const fromAnnotations: Record<string, string> = {};
  for (const found of flagAnnotations(annotations)) {
    if (found.kind === 'flag') {
      const parsed = parseFlagValue(found.spec, found.value);
      if (parsed.ok) fromAnnotations[found.spec.name] = found.value.trim();
      else warnings.push(`annotation ${found.key} ignored (${parsed.problem}); using ${(base[found.spec.name] ?? found.spec.default) || 'none'}`);
    } else if (found.kind === 'owned') {
      warnings.push(`annotation ${found.key} ignored: the injector sets it`);
    } else {
      warnings.push(`unknown annotation ${found.key} ignored`);
    }
  }
  let values: Record<string, string> = { ...base, ...fromAnnotations };
  let loaded = loadConfig(values, {});
  if (!loaded.ok) {
    // Each annotation was valid alone but not together (e.g. drain-timeout <= drain-delay).
    warnings.push(`annotations ${Object.keys(fromAnnotations).map((name) => `ws-sidecar.io/${name}`).join(', ')} ignored: ${loaded.problems.join('; ')}`);
    values = base;
    loaded = loadConfig(values, {});
  }
  if (!loaded.ok) throw new Error(`sidecar defaults are invalid: ${loaded.problems.join('; ')}`);
  return { values, config: loaded.config, warnings };
}

/** `--name=value` in the flag table's order; booleans as bare flags (true) or left out (false). */
export function sidecarArgs(values: Readonly<Record<string, string>>): string[] {
  const args: string[] = [];
  for (const spec of RUN_FLAGS) {
    const value = values[spec.name];
    if (value === undefined) continue;
    if (spec.kind === 'boolean') {
      const parsed = parseFlagValue(spec, value);
      if (parsed.ok && parsed.value === true) args.push(`--${spec.name}`);
    } else {
      args.push(`--${spec.name}=${value}`);
    }
  }
  return args;
}
