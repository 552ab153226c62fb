// The native code built once with AddressSanitizer and UndefinedBehaviorSanitizer
// and fuzzed (native/src/sanitizer-fuzz.cc: the scanner over random streams, the
// engine over socketpairs with random commands): no finding, no failed check.
// Skipped where the compiler has no sanitizers.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/kustomize.js';

const run = promisify(execFile);
const SOURCES = ['sanitizer-fuzz.cc', 'engine.cc', 'engine-commands.cc', 'frame-scanner.cc', 'scanner-trace.cc'].map((file) =>
  join(REPO_ROOT, 'proxy', 'data-path', 'native', 'src', file),
);
const FLAGS = ['-std=c++17', '-g', '-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-Wall', '-Wextra', '-Werror'];
const folder = mkdtempSync(join(tmpdir(), 'ws-sidecar-sanitizers-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function compilerHasSanitizers(): Promise<boolean> {
  const probe = join(folder, 'probe.cc');
  writeFileSync(probe, 'int main() { return 0; }\n');
  try {
    await run('g++', [...FLAGS, '-o', join(folder, 'probe'), probe]);
    await run(join(folder, 'probe'));
    return true;
  } catch {
    return false;
  }
}

const available = await compilerHasSanitizers();

describe.skipIf(!available)('native data plane under ASan + UBSan', () => {
  it('fuzzes the scanner and the engine with no finding', { timeout: 600_000 }, async () => {
    const binary = join(folder, 'sanitizer-fuzz');
    await run('g++', [...FLAGS, '-o', binary, ...SOURCES, '-lpthread']);
    const env = {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1:abort_on_error=0',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    };
    // A non-zero exit (a finding or a failed check) rejects with the sanitizer's report.
    const { stdout, stderr } = await run(binary, ['30000', '48'], { env, maxBuffer: 16 * 1024 * 1024 }).catch((err: { message: string; signal?: string; stdout?: string; stderr?: string }) => {
      throw new Error(`${err.message} (signal ${err.signal ?? 'none'})\n${err.stderr ?? ''}\n${err.stdout ?? ''}`);
    });
    expect(stderr).not.toMatch(/runtime error|AddressSanitizer|LeakSanitizer|CHECK FAILED/);
    const summary = /(\d+) frames scanned, (\d+) frames pumped through (\d+) tunnels, (\d+) failed checks/.exec(stdout);
    expect(summary).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(100_000);
    expect(Number(summary![2])).toBeGreaterThan(5_000);
    expect(Number(summary![4])).toBe(0);
  });
});
