// `npm run rollout`: the rolling-restart simulation, with the sidecar and then
// with the sidecar bypassed (the baseline), as one markdown report and a JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runRollout, type RolloutParams, type RolloutResult } from './rollout/rollout-run.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const FULL: RolloutParams = {
  pods: 3,
  clients: 1000,
  sendIntervalMs: 1000,
  fallbackDelayMs: 100,
  sidecarArgs: ['--drain-spread', '5', '--retry-after', '2', '--max-connections', '0'],
  sequential: false,
  settleTimeoutMs: 20_000,
};

const QUICK: RolloutParams = {
  pods: 3,
  clients: 60,
  sendIntervalMs: 100,
  fallbackDelayMs: 100,
  sidecarArgs: ['--drain-spread', '1', '--retry-after', '0.4', '--max-connections', '0'],
  sequential: false,
  settleTimeoutMs: 10_000,
};

export function rolloutMarkdown(results: readonly RolloutResult[], header: string): string {
  const lines = [
    header,
    '',
    '| mode | clients | sent | acked | lost (never acked) | unacked at close (resent) | 1006 closures | close codes | failed connects | reconnects | reconnects/s peak / mean (ratio) | busiest 100 ms | total time s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const codes = Object.entries(r.closeCodes).map(([code, count]) => `${code}×${count}`).join(' ');
    const ratio = r.reconnectMeanPerSecond > 0 ? (r.reconnectPeakPerSecond / r.reconnectMeanPerSecond).toFixed(2) : '—';
    lines.push(
      `| ${r.mode} | ${r.clients} | ${r.sent} | ${r.acknowledged} | ${r.lost} | ${r.unackedAtClose} | ${r.abnormalClosures} | ${codes} | ${r.failedConnects} | ${r.reconnects} | ${r.reconnectPeakPerSecond} / ${r.reconnectMeanPerSecond.toFixed(1)} (${ratio}) | ${r.reconnectPeakPer100Ms} | ${(r.totalTimeMs / 1000).toFixed(1)}${r.settled ? '' : ' (not settled)'} |`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function runRollouts(quick: boolean, outDir: string, sequential = false): Promise<{ results: RolloutResult[]; markdown: string; file: string }> {
  const params = { ...(quick ? QUICK : FULL), sequential };
  const results: RolloutResult[] = [];
  for (const mode of ['sidecar', 'baseline'] as const) {
    process.stderr.write(`[rollout] ${mode}\n`);
    results.push(await runRollout(mode, params));
  }
  const when = new Date().toISOString();
  const markdown = rolloutMarkdown(results, `## ws-sidecar rollout (${quick ? 'quick' : 'full'}), ${when}: ${params.pods} pods, ${params.clients} clients, one message per ${params.sendIntervalMs} ms each, ${sequential ? 'each pod gone before the next is replaced' : 'drains overlapping (maxSurge 1)'}`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `rollout-${quick ? 'quick' : 'full'}${sequential ? '-sequential' : ''}-${when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ when, params, results }, null, 2));
  return { results, markdown, file };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, sequential: { type: 'boolean', default: false }, out: { type: 'string', default: RESULTS_DIR } },
  });
  const { markdown, file } = await runRollouts(values.quick, values.out, values.sequential);
  process.stdout.write(markdown + `\nJSON: ${file}\n`);
}
