// `npm run bench`: every peer in front of a fresh echo app, the same scenarios
// against each, one markdown report (and a JSON file) comparing them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchMarkdown, targetChecks, type PeerResult } from './bench-report.js';
import { parseBenchArgs, roundPlan, type BenchPlan, type ScenarioName } from './bench-options.js';
import { readmeTable, type BenchFile } from './readme-table.js';
import { startNodeChild } from './node-child.js';
import { peerUnavailable, SIDECAR_CLI, startPeer, type PeerName, type PeerOptions, type RunningPeer } from './peers.js';
import { runBackpressure } from './scenarios/backpressure.js';
import { fleetCapsMarkdown, runFleetCaps, type FleetCapsResult } from './scenarios/fleet-caps.js';
import { runIdleMemory } from './scenarios/idle-memory.js';
import { runSaturation } from './scenarios/saturation.js';
import { runSteady } from './scenarios/steady.js';
import { runStorm } from './scenarios/storm.js';
import { fleetCostMarkdown, runFleetCost } from './scenarios/fleet-cost.js';

const CPU_SCENARIOS: readonly ScenarioName[] = ['steady', 'saturation', 'storm'];

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

async function benchPeer(name: PeerName, plan: BenchPlan, workDir: string): Promise<PeerResult> {
  const skipped = peerUnavailable(name);
  if (skipped) return { peer: name, skipped };
  const app = await startNodeChild('./echo-app.ts');
  const maxConnections = Math.max(plan.idle.connections, plan.steady.connections) + 100;
  const wanted = (scenario: ScenarioName): boolean => plan.scenarios.includes(scenario);
  /** A fresh peer in front of the same app, stopped once `fn` is done with it. */
  const withPeer = async <T>(extra: Partial<PeerOptions>, fn: (peer: RunningPeer) => Promise<T>): Promise<T> => {
    const peer = await startPeer(name, { appPort: app.port, workDir, maxConnections, ...extra });
    try {
      return await fn(peer);
    } finally {
      await peer.stop();
    }
  };
  try {
    const cpu = !CPU_SCENARIOS.some(wanted)
      ? {}
      : await withPeer({ cpuProfileDir: plan.cpuProfileDir }, async (peer) => {
          const run = async <T>(scenario: ScenarioName, label: string, fn: () => Promise<T>): Promise<T | undefined> => {
            if (!wanted(scenario)) return undefined;
            log(`${name}: ${label}`);
            return fn();
          };
          const steady = await run('steady', 'steady', () => runSteady(peer, plan.steady));
          const saturationSmall = await run('saturation', `saturation ${plan.saturationSmall.payloadBytes} B`, () => runSaturation(peer, plan.saturationSmall));
          const saturationLarge = await run('saturation', `saturation ${plan.saturationLarge.payloadBytes} B`, () => runSaturation(peer, plan.saturationLarge));
          const storm = await run('storm', 'storm', () => runStorm(peer, plan.storm));
          return { steady, saturationSmall, saturationLarge, storm };
        });
    // Idle memory gets its own instance: a clean "before" for every peer, and the
    // inspector (to force Node's GC before each reading) never runs during the CPU scenarios.
    const idle = !wanted('idle')
      ? undefined
      : await withPeer({ inspect: true }, (peer) => {
          log(`${name}: idle memory`);
          return runIdleMemory(peer, plan.idle);
        });
    // Backpressure on a fresh instance too: its growth is read against a clean start.
    const backpressure = !wanted('backpressure')
      ? undefined
      : await withPeer({}, (peer) => {
          log(`${name}: backpressure`);
          return runBackpressure(peer, plan.backpressure);
        });
    return { peer: name, ...cpu, idle, backpressure };
  } finally {
    await app.stop();
  }
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export async function runBench(plan: BenchPlan): Promise<{ results: PeerResult[]; caps: FleetCapsResult | undefined; markdown: string; file: string }> {
  const workDir = mkdtempSync(join(tmpdir(), 'ws-sidecar-bench-'));
  const loadBefore = loadavg()[0]!;
  const results: PeerResult[] = [];
  try {
    for (const name of plan.peers) {
      // One peer breaking (a config a new nginx refuses...) must not lose the others' figures.
      results.push(await benchPeer(name, plan, workDir).catch((err: Error) => ({ peer: name, failed: err.message })));
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  let caps: FleetCapsResult | undefined;
  if (plan.scenarios.includes('caps') && plan.peers.includes('ws-sidecar') && !peerUnavailable('ws-sidecar')) {
    log('ws-sidecar: fleet caps on vs off');
    caps = await runFleetCaps(plan.caps, SIDECAR_CLI).catch((err: Error) => ({ skipped: `failed: ${err.message}` }));
  }
  const when = new Date().toISOString();
  const header = `## ws-sidecar bench (${plan.quick ? 'quick' : 'full'}), ${when}, ${cpus().length} CPUs, Node ${process.version}\n\nOne run; other processes on this machine share the CPU (1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end), so read the figures as ratios within the run.`;
  const markdown = benchMarkdown(results, header) + (caps ? `\n\n${fleetCapsMarkdown(caps, plan.caps)}\n` : '');
  mkdirSync(plan.outDir, { recursive: true });
  const file = join(plan.outDir, `bench-${plan.quick ? 'quick' : 'full'}-${when.replace(/[:.]/g, '-')}.json`);
  const loadAverage = { start: loadBefore, end: loadavg()[0]! };
  writeFileSync(file, JSON.stringify({ when, plan, loadAverage, sidecarCli: SIDECAR_CLI, results, caps, targets: targetChecks(results) }, null, 2));
  return { results, caps, markdown, file };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--fleet-cost')) {
  // Fleet mode's cost only: a sidecar with and without --fleet-redis, alternating rounds.
  const quick = process.argv.includes('--quick');
  const result = await runFleetCost(quick ? { handshakes: 50, rounds: 2, restMs: 2000 } : { handshakes: 1000, rounds: 3, restMs: 10_000 });
  process.stdout.write(fleetCostMarkdown(result));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plan = parseBenchArgs(process.argv.slice(2), RESULTS_DIR);
  const files: string[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    if (plan.rounds > 1) log(`round ${round + 1} of ${plan.rounds}: ${roundPlan(plan, round).peers.join(', ')}`);
    const { markdown, file } = await runBench(roundPlan(plan, round));
    process.stdout.write(markdown + `\nJSON: ${file}\n\n`);
    files.push(file);
  }
  if (plan.rounds > 1) {
    const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchFile);
    process.stdout.write(`## Medians of ${plan.rounds} rounds (README table format)\n\n${readmeTable(runs, files)}\n`);
  }
}
