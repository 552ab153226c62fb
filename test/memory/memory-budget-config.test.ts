// --max-memory: its spelling, the auto size from a cgroup limit, and the state machine's
// thresholds (pure functions: no memory is read here; the e2e tests drive real processes).
import { describe, expect, it } from 'vitest';
import { parseBytes } from '../../proxy/config/config.js';
import { budgetSize } from '../../proxy/memory/budget-size.js';
import { nextState, type MemoryState } from '../../proxy/memory/memory-budget.js';
import { runCli } from '../helpers/sidecar-process.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('--max-memory', () => {
  it('reads sizes with decimal and binary suffixes, and refuses anything else', () => {
    expect(parseBytes('256Mi')).toBe(256 * MiB);
    expect(parseBytes('200MB')).toBe(200e6);
    expect(parseBytes('1.5Gi')).toBe(1.5 * GiB);
    expect(parseBytes('64k')).toBe(64_000);
    expect(parseBytes('65536')).toBe(65536);
    expect(parseBytes(' 0 ')).toBe(0);
    for (const bad of ['12x', '-1', 'Mi', '', '1e9', '256 Mib', '0x10']) expect(parseBytes(bad), bad).toBeUndefined();
  });

  it('reports a bad size with every other problem at once, exits 2 and opens no port', async () => {
    const result = await runCli(['--max-memory', '12x', '--retry-after', 'soon', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-memory: "12x" is not a size like 256Mi');
    expect(result.stderr).toContain('--retry-after: "soon"');
    expect(result.stdout).not.toContain('listening');
  });

  it('refuses a budget below what the process needs to start, beside the other cross-checks', async () => {
    const result = await runCli(['--accept-burst', '5', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], { env: { WS_SIDECAR_MAX_MEMORY: '1Mi' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--max-memory 1048576 bytes is below the 32Mi');
    expect(result.stderr).toContain('--accept-burst needs --accept-rate');
  });

  it('auto: the cgroup limit minus 25% (at least 16 MiB); no budget where there is no limit', () => {
    const machine = 24 * GiB;
    expect(budgetSize('auto', 256 * MiB, machine)).toEqual({ bytes: 192 * MiB, source: 'cgroup', limitBytes: 256 * MiB });
    expect(budgetSize('auto', 48 * MiB, machine)).toEqual({ bytes: 32 * MiB, source: 'cgroup', limitBytes: 48 * MiB });
    // Node 20 without a limit: undefined or 0; under cgroup v1, a number at least the machine's memory.
    for (const none of [undefined, 0, 2 ** 64, machine]) expect(budgetSize('auto', none, machine)).toEqual({ bytes: 0, source: 'off' });
    expect(budgetSize(150 * MiB, 256 * MiB, machine)).toEqual({ bytes: 150 * MiB, source: 'flag' });
    expect(budgetSize(0, 256 * MiB, machine)).toEqual({ bytes: 0, source: 'off' });
  });

  it('moves between states with hysteresis: refuse at 80% until below 70%, throttle at 90% until below 80%', () => {
    const steps: Array<[MemoryState, number, MemoryState]> = [
      ['normal', 0.79, 'normal'],
      ['normal', 0.8, 'refusing'],
      ['refusing', 0.71, 'refusing'],
      ['refusing', 0.69, 'normal'],
      ['refusing', 0.9, 'throttling'],
      ['throttling', 0.81, 'throttling'],
      ['throttling', 0.79, 'refusing'],
      ['throttling', 0.6, 'normal'],
      ['normal', 0.95, 'throttling'],
    ];
    for (const [from, share, to] of steps) expect(nextState(from, share), `${from} at ${share}`).toBe(to);
  });
});
