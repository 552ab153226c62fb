// Summarises a `node --cpu-prof` profile: functions by self time, and the
// project's own functions by total time (callees included), for the notes on
// where the sidecar's time goes. `npx tsx load/profile-top.ts FILE.cpuprofile [N]`
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  readonly name: string;
  readonly selfMs: number;
  readonly totalMs: number;
  /** Of the busy (not idle) time. */
  readonly selfShare: number;
  readonly totalShare: number;
}

const IDLE = new Set(['(idle)', '(program)']);

function nameOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
}

export function functionTimes(profile: CpuProfile): FunctionTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<string, number>();
  const totalUs = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const leaf = nameOf(byId.get(id)!);
    selfUs.set(leaf, (selfUs.get(leaf) ?? 0) + delta);
    if (IDLE.has(leaf)) return;
    busyUs += delta;
    // Recursion would count a function twice: each name once per sample.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = nameOf(byId.get(at)!);
      if (!seen.has(name)) totalUs.set(name, (totalUs.get(name) ?? 0) + delta);
      seen.add(name);
    }
  });
  return [...selfUs.keys()]
    .filter((name) => !IDLE.has(name))
    .map((name) => ({
      name,
      selfMs: (selfUs.get(name) ?? 0) / 1000,
      totalMs: (totalUs.get(name) ?? 0) / 1000,
      selfShare: (selfUs.get(name) ?? 0) / busyUs,
      totalShare: (totalUs.get(name) ?? 0) / busyUs,
    }));
}

function table(rows: readonly FunctionTime[]): string {
  const lines = ['| self | total | function |', '|---|---|---|'];
  for (const r of rows) lines.push(`| ${(r.selfShare * 100).toFixed(1)} % | ${(r.totalShare * 100).toFixed(1)} % | \`${r.name}\` |`);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, count = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile [N]');
  const times = functionTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const bySelf = [...times].sort((a, b) => b.selfMs - a.selfMs).slice(0, Number(count));
  const own = times.filter((t) => t.name.includes('dist/proxy/')).sort((a, b) => b.totalMs - a.totalMs).slice(0, Number(count));
  process.stdout.write(`Shares of busy time (idle excluded).\n\nBy self time:\n\n${table(bySelf)}\n\nThe sidecar's own functions by total time:\n\n${table(own)}\n`);
}
