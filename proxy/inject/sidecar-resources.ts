// The injected sidecar's memory request and limit, consistent with its connection
// cap: derived from the cap and the per-connection costs measured in load/ (or, with
// a memory limit given, the cap derived from it). The sidecar's --max-memory stays
// `auto`, so its budget is the limit less 25%: the limit is sized so that the worst
// case of a full pod (every client stopped reading while the app streams) fits the
// budget, and the budget refuses what would not.
//
// Figures (load/slow-readers.ts, JS data plane, the worse of the two planes; RSS as a
// line through 1,000 and 3,000 connections):
//   idle:   83 MiB + 15 KiB per connection (97.2 MiB at 1,000, 126.6 MiB at 3,000)
//   worst: 105 MiB + 25 KiB per connection (129.0 MiB at 1,000, 178.1 MiB at 3,000:
//          each holds one 16 KiB read for its stalled client; the intercept carries
//          the garbage V8 has not collected yet)
const MiB = 2 ** 20;
const KiB = 2 ** 10;

export const SIZING = {
  idleBaseBytes: 83 * MiB,
  idlePerConnectionBytes: 15 * KiB,
  worstBaseBytes: 105 * MiB,
  worstPerConnectionBytes: 25 * KiB,
  /**
   * Share of the limit the sidecar's budget (`--max-memory auto`) leaves out: the runtime's
   * AUTO_HEADROOM_SHARE (memory/budget-size.ts; the injector never imports the runtime, a test
   * holds the two equal).
   */
  headroomShare: 0.25,
  /** With no cap (--max-connections 0) the limit is sized for this many; the budget bounds the rest. */
  uncappedSizedFor: 10_000,
} as const;

export interface SidecarMemory {
  readonly requestBytes: number;
  readonly limitBytes: number;
  /** The cap the sidecar runs with (0 = none). */
  readonly maxConnections: number;
}

/** Whole MiB, rounded up: what a Kubernetes quantity says. */
export function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}Mi`;
}

/** limit = (worst base + cap × worst per connection) / (1 − headroom); request = idle base + cap × idle per connection. */
export function memoryForCap(maxConnections: number): SidecarMemory {
  const sizedFor = maxConnections > 0 ? maxConnections : SIZING.uncappedSizedFor;
  const worst = SIZING.worstBaseBytes + sizedFor * SIZING.worstPerConnectionBytes;
  const limitBytes = Math.ceil(worst / (1 - SIZING.headroomShare) / MiB) * MiB;
  const requestBytes = Math.min(limitBytes, Math.ceil((SIZING.idleBaseBytes + sizedFor * SIZING.idlePerConnectionBytes) / MiB) * MiB);
  return { requestBytes, limitBytes, maxConnections };
}

/** cap = (limit × (1 − headroom) − worst base) / worst per connection; undefined when the limit holds not even one. */
export function capForLimit(limitBytes: number): number | undefined {
  const cap = Math.floor((limitBytes * (1 - SIZING.headroomShare) - SIZING.worstBaseBytes) / SIZING.worstPerConnectionBytes);
  return cap >= 1 ? cap : undefined;
}

export interface SizingInput {
  /** The pod's --max-connections (0 = none). */
  readonly maxConnections: number;
  /** Set by an annotation or an injector default (else the flag's default). */
  readonly capGiven: boolean;
  /** ws-sidecar.io/memory-limit or --memory-limit, when given. */
  readonly limitBytes: number | undefined;
}

/**
 * The sidecar's memory and cap, and what was changed to make them agree. Without a limit,
 * the limit follows the cap. With one, the cap follows the limit; a cap that was given and
 * does not fit is lowered (warning), never raised.
 */
export function sizeSidecar(input: SizingInput): { memory: SidecarMemory; warnings: string[] } {
  const warnings: string[] = [];
  if (input.limitBytes !== undefined) {
    const room = capForLimit(input.limitBytes);
    if (room === undefined) {
      warnings.push(`memory limit ${mebibytes(input.limitBytes)} holds no connection (the sidecar needs ${mebibytes(memoryForCap(1).limitBytes)} for one); sized from --max-connections instead`);
    } else {
      let cap = input.maxConnections;
      if (!input.capGiven) cap = room;
      else if (cap === 0 || cap > room) {
        warnings.push(`--max-connections ${cap === 0 ? '0 (unlimited)' : cap} does not fit a ${mebibytes(input.limitBytes)} memory limit, which holds ${room} connections at worst: lowered to ${room}`);
        cap = room;
      }
      const requestBytes = Math.min(input.limitBytes, memoryForCap(cap).requestBytes);
      return { memory: { requestBytes, limitBytes: input.limitBytes, maxConnections: cap }, warnings };
    }
  }
  if (input.maxConnections === 0) {
    warnings.push(`--max-connections 0 (unlimited): memory sized for ${SIZING.uncappedSizedFor} connections; beyond what it holds, --max-memory auto refuses upgrades`);
  }
  return { memory: memoryForCap(input.maxConnections), warnings };
}
