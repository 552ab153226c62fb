// How big the memory budget is: --max-memory as given, or (auto) the container's
// memory limit minus headroom. Node 20's process.constrainedMemory() reports the
// cgroup limit; without one it answers undefined or 0, and under cgroup v1 a huge
// number (2^64 and the like) — anything not below the machine's memory is "no limit".
import { totalmem } from 'node:os';

/**
 * What auto leaves outside the budget: the kernel charges a container's socket buffers,
 * page cache and the process's own start-up mappings to the same limit, and a budget is
 * sampled, so growth between two samples must fit too.
 */
export const AUTO_HEADROOM_SHARE = 0.25;
/** At least this much headroom whatever the limit. */
export const AUTO_HEADROOM_MIN = 16 * 2 ** 20;

export interface BudgetSize {
  /** 0 = no budget. */
  readonly bytes: number;
  /** Where it came from: the flag, the cgroup limit (auto), or nowhere (auto without a limit, or 0). */
  readonly source: 'flag' | 'cgroup' | 'off';
  /** The container's limit when auto found one. */
  readonly limitBytes?: number;
}

/** A limit that is not below the machine's memory limits nothing. */
export function containerLimit(constrained: number | undefined, machine: number): number | undefined {
  return constrained !== undefined && constrained > 0 && constrained < machine ? constrained : undefined;
}

/** The budget for `--max-memory` (bytes, 0 or auto). */
export function budgetSize(setting: number | 'auto', constrained: number | undefined = process.constrainedMemory?.(), machine: number = totalmem()): BudgetSize {
  if (setting !== 'auto') return setting > 0 ? { bytes: setting, source: 'flag' } : { bytes: 0, source: 'off' };
  const limit = containerLimit(constrained, machine);
  if (limit === undefined) return { bytes: 0, source: 'off' };
  const headroom = Math.max(AUTO_HEADROOM_MIN, Math.round(limit * AUTO_HEADROOM_SHARE));
  return { bytes: Math.max(0, limit - headroom), source: 'cgroup', limitBytes: limit };
}
