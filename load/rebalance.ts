// `npm run rebalance`: fleet mode's scale-out simulation, with and without --rebalance, and a
// rolling restart with --rebalance on; one markdown report and a JSON file.
// Flags: --quick (fewer clients, shorter watch), --out <dir>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runRolloutWithRebalance, runScaleOut, type RebalanceParams, type RebalanceResult } from './rebalance/rebalance-run.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

// Heartbeat 0.5 s and min age 5 s so a run takes a minute, not ten; rate 0.05: 15 closes/s per
// pod of 300. --retry-after 1: moved clients come back after 0.5–1.5 s.
const FLEET_ARGS = ['--fleet-heartbeat', '0.5', '--fleet-timeout', '0.25', '--rebalance-min-age', '5', '--rebalance-rate', '0.05', '--retry-after', '1', '--max-connections', '0', '--drain-spread', '3'];

const FULL: RebalanceParams = { clients: 600, sendIntervalMs: 1000, fallbackDelayMs: 100, fleetArgs: FLEET_ARGS, minAgeMs: 5000, watchMs: 45_000 };
const QUICK: RebalanceParams = { clients: 120, sendIntervalMs: 500, fallbackDelayMs: 100, fleetArgs: FLEET_ARGS, minAgeMs: 5000, watchMs: 30_000 };

export function rebalanceMarkdown(results: readonly RebalanceResult[], header: string): string {
  const lines = [
    header,
    '',
    '| scenario | --rebalance | clients | pods before → after | time to busiest ≤ 1.2× mean | moves per client p99 / max | clients moved | peak handshakes/s per pod | rebalancing closes during rollout | 1006 closures | messages lost / sent | Redis ops/s per pod at rest |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const time = r.timeToBalancedMs === null ? 'not within the watch' : `${(r.timeToBalancedMs / 1000).toFixed(1)} s`;
    lines.push(
      `| ${r.scenario} | ${r.rebalance ? 'on' : 'off'} | ${r.clients} | ${r.countsAtStart.join('/')} → ${r.countsAtEnd.join('/')} | ${time} | ${r.movesPerClientP99} / ${r.movesPerClientMax} | ${r.clientsMoved} | ${r.peakHandshakesPerSecondPerPod} | ${r.scenario === 'rollout' ? r.rebalanceClosesDuringRollout : '—'} | ${r.abnormalClosures} | ${r.lost} / ${r.sent} | ${r.redisOpsPerSecondPerPodAtRest ?? '—'} |`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function runRebalances(quick: boolean, outDir: string): Promise<{ results: RebalanceResult[]; markdown: string; file: string }> {
  const params = quick ? QUICK : FULL;
  const results: RebalanceResult[] = [];
  for (const rebalance of [false, true]) {
    process.stderr.write(`[rebalance] scale-out, --rebalance ${rebalance ? 'on' : 'off'}\n`);
    results.push(await runScaleOut(params, rebalance));
  }
  process.stderr.write('[rebalance] rolling restart, --rebalance on\n');
  results.push(await runRolloutWithRebalance(params));
  const when = new Date().toISOString();
  const markdown = rebalanceMarkdown(results, `## ws-sidecar rebalance (${quick ? 'quick' : 'full'}), ${when}: ${params.clients} clients behind a round-robin front, one message per ${params.sendIntervalMs} ms each; sidecars ${FLEET_ARGS.join(' ')}`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `rebalance-${quick ? 'quick' : 'full'}-${when.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ when, params, results }, null, 2));
  return { results, markdown, file };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: RESULTS_DIR } } });
  const { markdown, file } = await runRebalances(values.quick, values.out);
  process.stdout.write(markdown + `\nJSON: ${file}\n`);
}
