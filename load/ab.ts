// `npx tsx load/ab.ts --a OLD/proxy/main.js --b NEW/proxy/main.js`: the same bench
// for two builds of the sidecar, in alternating rounds (A B, B A, A B, ...) so that
// the machine's drift falls on both, then min and median of each figure and B ÷ A.
// `--builds one,two,three` does the same for a chain of builds (each step against
// the one before it), rotating the order every round.
// Every run also measures the reference peers (nginx by default), so each build's
// ratio to nginx comes from one run, not from figures taken minutes apart.
// `--out DIR` keeps every run's bench JSON there as LABEL-roundN.json (`--labels`
// names the builds; a, b or build1… otherwise), e.g. for load/readme-table.ts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { PeerResult } from './bench-report.js';

interface BenchFile {
  readonly loadAverage?: { start: number; end: number };
  readonly results: PeerResult[];
}

interface Figure {
  readonly name: string;
  readonly read: (r: PeerResult) => number | undefined;
  /** Handshakes/s: larger is better. */
  readonly higherIsBetter?: boolean;
}

const FIGURES: readonly Figure[] = [
  { name: 'CPU µs / handshake', read: (r) => r.storm?.cpuUsPerConnection },
  { name: 'handshakes/s', read: (r) => r.storm?.connectionsPerSecond, higherIsBetter: true },
  { name: 'CPU µs / round trip (fixed rate)', read: (r) => r.steady?.cpuUsPerRoundTrip },
  { name: 'CPU µs / rt saturated 128 B', read: (r) => r.saturationSmall?.cpuUsPerRoundTrip },
  { name: 'CPU µs / rt saturated 16 KiB', read: (r) => r.saturationLarge?.cpuUsPerRoundTrip },
  { name: 'idle RSS / conn KiB', read: (r) => (r.idle?.bytesPerConnection === undefined ? undefined : r.idle.bytesPerConnection / 1024) },
  { name: 'idle JS heap / conn KiB', read: (r) => (r.idle?.heapBytesPerConnection === undefined ? undefined : r.idle.heapBytesPerConnection / 1024) },
];

const BENCH = fileURLToPath(new URL('./bench.ts', import.meta.url));

/** Where kept runs go (`--out`), as LABEL-roundN.json; undefined to keep none. */
let keepDir: string | undefined;

async function benchOnce(cli: string, peers: string, scenarios: string, quick: boolean, keepAs?: string): Promise<BenchFile> {
  const outDir = mkdtempSync(join(tmpdir(), 'ws-sidecar-ab-'));
  try {
    const args = ['--import', 'tsx', BENCH, '--peers', peers, '--scenarios', scenarios, '--out', outDir, ...(quick ? ['--quick'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WS_SIDECAR_CLI: cli } });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`bench exited with ${code} for ${cli}`);
    const [file] = readdirSync(outDir);
    if (keepDir !== undefined && keepAs !== undefined) copyFileSync(join(outDir, file!), join(keepDir, `${keepAs}.json`));
    return JSON.parse(readFileSync(join(outDir, file!), 'utf8')) as BenchFile;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const best = (values: readonly number[], figure: Figure): number => (figure.higherIsBetter ? Math.max(...values) : Math.min(...values));
const show = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '—' : value >= 100 ? value.toFixed(0) : value.toFixed(2));

function values(runs: readonly BenchFile[], peer: string, figure: Figure): number[] {
  return runs.map((run) => figure.read(run.results.find((r) => r.peer === peer) ?? { peer: 'direct' })).filter((v): v is number => v !== undefined);
}

/** Per run, the sidecar's figure divided by a reference peer's from the same run. */
function ratiosTo(runs: readonly BenchFile[], reference: string, figure: Figure): number[] {
  const out: number[] = [];
  for (const run of runs) {
    const mine = figure.read(run.results.find((r) => r.peer === 'ws-sidecar') ?? { peer: 'direct' });
    const theirs = figure.read(run.results.find((r) => r.peer === reference) ?? { peer: 'direct' });
    if (mine !== undefined && theirs !== undefined && theirs > 0) out.push(mine / theirs);
  }
  return out;
}

export function abMarkdown(a: readonly BenchFile[], b: readonly BenchFile[], references: readonly string[]): string {
  const lines = [
    `| figure | A min / median | B min / median | B ÷ A (min / median) | ${references.map((ref) => `A ÷ ${ref} / B ÷ ${ref} (medians)`).join(' | ')} |`,
    `|---|---|---|---|${references.map(() => '---').join('|')}|`,
  ];
  for (const figure of FIGURES) {
    const va = values(a, 'ws-sidecar', figure);
    const vb = values(b, 'ws-sidecar', figure);
    if (va.length === 0 || vb.length === 0) continue;
    const refs = references.map((ref) => {
      const ra = ratiosTo(a, ref, figure);
      const rb = ratiosTo(b, ref, figure);
      return ra.length && rb.length ? `${median(ra).toFixed(2)} / ${median(rb).toFixed(2)}` : '—';
    });
    lines.push(
      `| ${figure.name} | ${show(best(va, figure))} / ${show(median(va))} | ${show(best(vb, figure))} / ${show(median(vb))} | ${(best(vb, figure) / best(va, figure)).toFixed(3)} / ${(median(vb) / median(va)).toFixed(3)} | ${refs.join(' | ')} |`,
    );
  }
  for (const ref of references) {
    const storm = FIGURES[0]!;
    const all = [...values(a, ref, storm), ...values(b, ref, storm)];
    if (all.length > 0) lines.push('', `${ref} CPU µs / handshake over all ${all.length} runs: ${all.map((v) => v.toFixed(0)).join(', ')} (spread ${((Math.max(...all) / Math.min(...all) - 1) * 100).toFixed(0)}%: the noise of this machine now).`);
  }
  const loads = [...a, ...b].map((run) => run.loadAverage).filter((v): v is { start: number; end: number } => v !== undefined);
  if (loads.length > 0) lines.push('', `1-minute load average at the start → end of each run (A runs, then B runs): ${loads.map((v) => `${v.start.toFixed(1)} → ${v.end.toFixed(1)}`).join(', ')}.`);
  return lines.join('\n');
}

/** A chain of builds: each against the one before it, and every build's figures. */
export function chainMarkdown(names: readonly string[], runs: readonly BenchFile[][], references: readonly string[]): string {
  const out: string[] = [];
  for (let i = 1; i < names.length; i++) out.push(`### ${names[i - 1]} → ${names[i]}`, '', abMarkdown(runs[i - 1]!, runs[i]!, references), '');
  return out.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: opts } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      builds: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      scenarios: { type: 'string', default: 'storm' },
      references: { type: 'string', default: 'nginx' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      labels: { type: 'string' },
    },
    strict: true,
  });
  if (opts.out) mkdirSync((keepDir = opts.out), { recursive: true });
  const labels = opts.labels?.split(',');
  if (opts.builds) {
    const builds = opts.builds.split(',');
    const references = opts.references.split(',').filter((ref) => ref !== '');
    const peers = ['ws-sidecar', ...references].join(',');
    const runs: BenchFile[][] = builds.map(() => []);
    for (let round = 0; round < Number(opts.rounds); round++) {
      // Rotated and reversed every other round: no build always first, last or next to the same one.
      const order = builds.map((_, i) => (i + round) % builds.length);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        process.stderr.write(`[ab] round ${round + 1}: ${builds[i]}\n`);
        runs[i]!.push(await benchOnce(builds[i]!, peers, opts.scenarios, opts.quick, `${labels?.[i] ?? `build${i + 1}`}-round${round + 1}`));
      }
    }
    process.stdout.write(`## Chain of ${builds.length} builds, ${opts.rounds} rounds (${opts.scenarios})\n\n${chainMarkdown(builds, runs, references)}\n`);
    process.exit(0);
  }
  if (!opts.a || !opts.b) throw new Error('usage: npx tsx load/ab.ts --a OLD/proxy/main.js --b NEW/proxy/main.js [--rounds 3] [--scenarios storm,...] [--references nginx,...] [--out DIR [--labels old,new]] [--quick]');
  const references = opts.references.split(',').filter((ref) => ref !== '');
  const peers = ['ws-sidecar', ...references].join(',');
  const a: BenchFile[] = [];
  const b: BenchFile[] = [];
  for (let round = 0; round < Number(opts.rounds); round++) {
    // A B, then B A: neither build always runs first (warmer caches, rising load).
    const order = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const which of order) {
      process.stderr.write(`[ab] round ${round + 1}: ${which.toUpperCase()}\n`);
      const label = labels?.[which === 'a' ? 0 : 1] ?? which;
      (which === 'a' ? a : b).push(await benchOnce(which === 'a' ? opts.a : opts.b, peers, opts.scenarios, opts.quick, `${label}-round${round + 1}`));
    }
  }
  process.stdout.write(`## A/B: A = ${opts.a}, B = ${opts.b}, ${opts.rounds} rounds (${opts.scenarios})\n\n${abMarkdown(a, b, references)}\n`);
}
