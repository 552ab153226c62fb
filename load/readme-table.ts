// `npx tsx load/readme-table.ts RUN.json [RUN.json ...]`: the README's performance
// table, regenerated from `npm run bench` output (never typed by hand). With several
// runs each cell is the median over them; the ÷ nginx column divides within each
// run first, then takes the median, so a slow run of the machine cancels out.
// `--write` replaces the table between the markers in README.md; otherwise it is printed.
// The table names the files it was made from, so test/load/readme-table.test.ts can
// make it again and fail when the README no longer says what those runs measured.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerResult } from './bench-report.js';
import type { PeerName } from './peers.js';

export interface BenchFile {
  readonly when: string;
  readonly loadAverage?: { start: number; end: number };
  readonly results: PeerResult[];
}

const COLUMNS: ReadonlyArray<{ peer: PeerName; title: string }> = [
  { peer: 'ws-sidecar', title: 'ws-sidecar' },
  { peer: 'ws-sidecar-native', title: 'ws-sidecar, native plane' },
  { peer: 'nginx', title: 'nginx' },
  { peer: 'haproxy', title: 'HAProxy' },
  { peer: 'caddy', title: 'Caddy' },
  { peer: 'http-proxy', title: 'http-proxy' },
  { peer: 'node-floor', title: 'Node floor' },
];

/** The ratio columns: each sidecar plane ÷ nginx, divided within each run. */
const RATIOS: ReadonlyArray<{ peer: PeerName; title: string }> = [
  { peer: 'ws-sidecar', title: 'ws-sidecar ÷ nginx' },
  { peer: 'ws-sidecar-native', title: 'native ÷ nginx' },
];

const ROWS: ReadonlyArray<{ title: string; read: (r: PeerResult) => number | undefined; unit: string; digits: number }> = [
  { title: 'CPU µs per round trip, 1k conns × 5k msg/s, 128 B', read: (r) => r.steady?.cpuUsPerRoundTrip, unit: '', digits: 1 },
  { title: 'CPU µs per round trip, saturated, 128 B', read: (r) => r.saturationSmall?.cpuUsPerRoundTrip, unit: '', digits: 1 },
  { title: 'idle RSS per connection (9,000 conns, Node peers after GC)', read: (r) => (r.idle?.bytesPerConnection === undefined ? undefined : r.idle.bytesPerConnection / 1024), unit: ' KiB', digits: 1 },
  { title: 'CPU µs per handshake (open, echo, close; 50 openers)', read: (r) => r.storm?.cpuUsPerConnection, unit: '', digits: 0 },
  { title: 'handshakes/s (50 openers)', read: (r) => r.storm?.connectionsPerSecond, unit: '', digits: 0 },
  { title: 'RSS per backpressured connection (200 readers that stop, 2 MiB each)', read: (r) => (r.backpressure?.bytesPerConnection === undefined ? undefined : r.backpressure.bytesPerConnection / 1024), unit: ' KiB', digits: 1 },
];

export const TABLE_START = '<!-- bench-table:start (npx tsx load/readme-table.ts --write RUN.json...) -->';
export const TABLE_END = '<!-- bench-table:end -->';

const median = (values: readonly number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function figure(run: BenchFile, peer: PeerName, read: (r: PeerResult) => number | undefined): number | undefined {
  const result = run.results.find((r) => r.peer === peer && !r.skipped && !r.failed);
  return result ? read(result) : undefined;
}

export function readmeTable(runs: readonly BenchFile[], sources: readonly string[] = []): string {
  const lines = [
    `| per … | ${[...COLUMNS, ...RATIOS].map((c) => c.title).join(' | ')} |`,
    `|---|${[...COLUMNS, ...RATIOS].map(() => '---').join('|')}|`,
  ];
  for (const row of ROWS) {
    const cells = COLUMNS.map((column) => {
      const value = median(runs.map((run) => figure(run, column.peer, row.read)).filter((v): v is number => v !== undefined));
      return value === undefined ? '—' : `${value.toFixed(row.digits)}${row.unit}`;
    });
    const ratios = RATIOS.map(({ peer }) => {
      const perRun = runs
        .map((run) => {
          const mine = figure(run, peer, row.read);
          const nginx = figure(run, 'nginx', row.read);
          return mine === undefined || nginx === undefined || nginx <= 0 ? undefined : mine / nginx;
        })
        .filter((v): v is number => v !== undefined);
      const ratio = median(perRun);
      return ratio === undefined ? '—' : `${ratio.toFixed(2)}×`;
    });
    lines.push(`| ${row.title} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  const loads = runs.map((run) => run.loadAverage).filter((v): v is { start: number; end: number } => v !== undefined);
  const dates = runs.map((run) => run.when.slice(0, 10));
  lines.push(
    '',
    `${runs.length === 1 ? 'One run' : `Medians of ${runs.length} runs`} of \`npm run bench\` (${[...new Set(dates)].join(', ')}) on the 2-core dev machine` +
      (loads.length > 0 ? `, shared with other work (1-minute load average ${loads.map((v) => `${v.start.toFixed(1)} → ${v.end.toFixed(1)}`).join(', ')} from start to end)` : '') +
      '. Read the ratios, not the absolutes.' +
      (sources.length > 0 ? ` Made by \`load/readme-table.ts\` from ${sources.map((source) => `\`${source}\``).join(', ')}.` : ''),
  );
  return lines.join('\n');
}

/** The table now in the README (between the markers), and the bench files it names. */
export function currentTable(readme: string): { table: string; sources: string[] } {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} block`);
  const table = readme.slice(start + TABLE_START.length, end).trim();
  return { table, sources: [...table.matchAll(/`(docs\/bench\/[^`]+\.json)`/g)].map((m) => m[1]!) };
}

export function replaceTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} block`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const files = args.filter((arg) => arg !== '--write');
  if (files.length === 0) throw new Error('usage: npx tsx load/readme-table.ts [--write] RUN.json [RUN.json ...]');
  const root = fileURLToPath(new URL('..', import.meta.url));
  // Named as the README shows them: relative to the repository.
  const sources = files.map((file) => relative(root, resolve(file)));
  const table = readmeTable(
    files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchFile),
    sources,
  );
  if (!write) {
    process.stdout.write(table + '\n');
  } else {
    const path = fileURLToPath(new URL('../README.md', import.meta.url));
    writeFileSync(path, replaceTable(readFileSync(path, 'utf8'), table));
    process.stdout.write(`README.md table regenerated from ${files.length} run(s)\n`);
  }
}
