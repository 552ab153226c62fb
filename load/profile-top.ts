// Summarises a `node --cpu-prof` profile: functions by self time, for the notes
// on where the sidecar's time goes. `npx tsx load/profile-top.ts FILE.cpuprofile [N]`
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function topFunctions(profile: CpuProfile, count: number): Array<{ name: string; selfMs: number; share: number }> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    const delta = profile.timeDeltas[i] ?? 0;
    selfUs.set(name, (selfUs.get(name) ?? 0) + delta);
    totalUs += delta;
  });
  return [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, selfMs: us / 1000, share: us / totalUs }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, count = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-top.ts FILE.cpuprofile [N]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const lines = ['| self ms | share | function |', '|---|---|---|'];
  for (const top of topFunctions(profile, Number(count))) lines.push(`| ${top.selfMs.toFixed(0)} | ${(top.share * 100).toFixed(1)} % | \`${top.name}\` |`);
  process.stdout.write(lines.join('\n') + '\n');
}
