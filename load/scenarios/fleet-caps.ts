// The cost of the fleet caps, A/B in one run: three sidecars in front of the same echo app,
// per pod (no fleet), fleet mode without caps, and fleet mode with a fleet cap and a tenant
// cap (never reached), driven in alternating rounds. Each round opens `connections` clients
// (`concurrency` handshakes in flight, each of one of 50 tenants) and closes them; per
// connection: the sidecar's CPU (open + close), the client's time to 'open' (p50/p99 over all
// rounds), and the Redis commands it took at the handshake and at the close, read from the
// INFO commandstats of the variant's own redis-server, so no other sidecar's heartbeat is
// counted (heartbeats are 30 s, so even its own rarely fall inside a round).
import { createClient } from 'redis';
import type { WebSocket } from 'ws';
import { redisMissing, startRedisServer, type RedisServer } from '../../test/helpers/redis-server.js';
import { startSidecarProcess, type SidecarProcess } from '../../test/helpers/sidecar-process.js';
import { closeClients, openClient } from '../client-pool.js';
import { startNodeChild } from '../node-child.js';
import { cpuMicros } from '../proc-stats.js';

export interface FleetCapsParams {
  readonly connections: number;
  readonly concurrency: number;
  readonly rounds: number;
}

export const CAPS_VARIANTS = ['per pod', 'fleet, no caps', 'fleet + caps'] as const;
export type CapsVariant = (typeof CAPS_VARIANTS)[number];

export interface CapsVariantResult {
  readonly variant: CapsVariant;
  /** Sidecar CPU per connection (handshake and close), min and median over the rounds. */
  readonly cpuUsPerConnectionMin: number;
  readonly cpuUsPerConnectionMedian: number;
  /** Client-side time from the upgrade request to 'open', over every round. */
  readonly openP50Ms: number;
  readonly openP99Ms: number;
  /** Redis round trips per handshake (target 1) and per close (at most 1: releases are batched); 0 without fleet mode. */
  readonly roundTripsPerHandshake: number;
  readonly roundTripsPerClose: number;
  /** Commands Redis ran per handshake, those inside the script included (its server-side work). */
  readonly commandsPerHandshake: number;
  readonly failed: number;
}

export interface FleetCapsResult {
  readonly skipped?: string;
  readonly variants?: readonly CapsVariantResult[];
}

const HEARTBEAT_ARGS = ['--fleet-heartbeat', '30', '--fleet-timeout', '1'];

export async function runFleetCaps(params: FleetCapsParams, sidecarCli: string): Promise<FleetCapsResult> {
  if (redisMissing) return { skipped: 'redis-server not installed (apt-get install redis-server)' };
  const servers: RedisServer[] = [];
  const readers: Reader[] = [];
  const sidecars: SidecarProcess[] = [];
  let app: Awaited<ReturnType<typeof startNodeChild>> | undefined;
  try {
    for (const _ of CAPS_VARIANTS) {
      const redis = await startRedisServer();
      servers.push(redis);
      const reader: Reader = createClient({ url: redis.url });
      reader.on('error', () => undefined);
      readers.push(reader);
      await reader.connect();
    }
    app = await startNodeChild('./echo-app.ts');
    const base = ['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '0', '--max-pending-handshakes', '0'];
    const fleet = (name: string, i: number): string[] => ['--fleet-redis', servers[i]!.url, '--fleet-name', name, '--pod-name', 'bench', ...HEARTBEAT_ARGS];
    const caps = ['--fleet-max-connections', '1000000', '--tenant-from', 'query:tenant', '--max-connections-per-tenant', '1000000'];
    const argsOf: Record<CapsVariant, string[]> = {
      'per pod': base,
      'fleet, no caps': [...base, ...fleet('bench/fleet', 1)],
      'fleet + caps': [...base, ...fleet('bench/caps', 2), ...caps],
    };
    for (const variant of CAPS_VARIANTS) sidecars.push(await startSidecarProcess(argsOf[variant], {}, sidecarCli));
    await Promise.all(sidecars.slice(1).map((sidecar) => firstHeartbeat(sidecar)));
    const samples = CAPS_VARIANTS.map(() => ({ cpu: [] as number[], open: [] as number[], handshakeTrips: 0, closeTrips: 0, handshakeCommands: 0, failed: 0, connections: 0 }));
    for (let round = 0; round < params.rounds; round++) {
      // Alternating, and the order rotated each round, so drift on a shared machine hits all alike.
      for (let k = 0; k < CAPS_VARIANTS.length; k++) {
        const i = (k + round) % CAPS_VARIANTS.length;
        const sample = samples[i]!;
        const result = await oneRound(sidecars[i]!, params, () => storeCalls(readers[i]!));
        sample.cpu.push(result.cpuMicros / Math.max(1, result.opened));
        sample.open.push(...result.openMs);
        sample.handshakeTrips += result.handshake.roundTrips;
        sample.closeTrips += result.close.roundTrips;
        sample.handshakeCommands += result.handshake.commands;
        sample.failed += result.failed;
        sample.connections += result.opened;
      }
    }
    return {
      variants: CAPS_VARIANTS.map((variant, i) => {
        const sample = samples[i]!;
        const per = (calls: number): number => (sample.connections > 0 ? calls / sample.connections : 0);
        return {
          variant,
          cpuUsPerConnectionMin: Math.min(...sample.cpu),
          cpuUsPerConnectionMedian: quantile(sample.cpu, 0.5),
          openP50Ms: quantile(sample.open, 0.5),
          openP99Ms: quantile(sample.open, 0.99),
          roundTripsPerHandshake: per(sample.handshakeTrips),
          roundTripsPerClose: per(sample.closeTrips),
          commandsPerHandshake: per(sample.handshakeCommands),
          failed: sample.failed,
        };
      }),
    };
  } finally {
    for (const sidecar of sidecars) sidecar.kill();
    await Promise.all(sidecars.map((sidecar) => sidecar.exited));
    for (const reader of readers) if (reader.isOpen) reader.destroy();
    await app?.stop();
    await Promise.all(servers.map((redis) => redis.stop()));
  }
}

async function oneRound(sidecar: SidecarProcess, params: FleetCapsParams, calls: () => Promise<StoreCounts>): Promise<{ cpuMicros: number; opened: number; failed: number; openMs: number[]; handshake: StoreCounts; close: StoreCounts }> {
  const pid = sidecar.child.pid!;
  const clients: WebSocket[] = [];
  const openMs: number[] = [];
  let failed = 0;
  let started = 0;
  const callsBefore = await calls();
  const cpuBefore = cpuMicros(pid);
  const worker = async (): Promise<void> => {
    while (started < params.connections) {
      const n = started++;
      const at = performance.now();
      try {
        clients.push(await openClient(sidecar.dataPort, `/?tenant=t${n % 50}`));
        openMs.push(performance.now() - at);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, worker));
  const callsOpen = await calls();
  await closeClients(clients);
  // The sidecar's side of the last closes (and their releases) may still be under way.
  await waitForIdle(sidecar);
  const cpuAfter = cpuMicros(pid);
  const callsAfter = await calls();
  return { cpuMicros: cpuAfter - cpuBefore, opened: clients.length, failed, openMs, handshake: minus(callsOpen, callsBefore), close: minus(callsAfter, callsOpen) };
}

type Reader = ReturnType<typeof createClient<Record<string, never>>>;

/** The server's command counts since start: round trips (what clients sent) and every command run, scripts' own included. */
async function storeCalls(reader: Reader): Promise<StoreCounts> {
  const text = await reader.info('commandstats');
  let roundTrips = 0;
  let commands = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const [, name, calls] = match as unknown as [string, string, string];
    if (name === 'info') continue; // this reader's own
    commands += Number(calls);
    // The store sends nothing but scripts; what they call inside is counted under its own name.
    if (/^(evalsha|eval|script\|load)$/.test(name)) roundTrips += Number(calls);
  }
  return { roundTrips, commands };
}

interface StoreCounts {
  readonly roundTrips: number;
  readonly commands: number;
}

const minus = (a: StoreCounts, b: StoreCounts): StoreCounts => ({ roundTrips: a.roundTrips - b.roundTrips, commands: a.commands - b.commands });

async function waitForIdle(sidecar: SidecarProcess): Promise<void> {
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text();
    if (/^ws_sidecar_connections_active 0$/m.test(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Fleet mode is measured once the first heartbeat has answered (the caps script loaded). */
async function firstHeartbeat(sidecar: SidecarProcess): Promise<void> {
  for (;;) {
    const body = (await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/fleet`)).json()) as { storeUp?: boolean; caps?: { connections?: number } };
    if (body.storeUp && (body.caps === undefined || body.caps.connections !== undefined)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function fleetCapsMarkdown(result: FleetCapsResult, params: FleetCapsParams): string {
  if (result.skipped) return `### Fleet caps: skipped (${result.skipped})`;
  const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');
  const lines = [
    `### Fleet caps: cost per connection (${params.rounds} alternating rounds of ${params.connections} connections, ${params.concurrency} handshakes in flight, one sidecar per variant, a real redis-server)`,
    '',
    '| variant | CPU µs / connection (open + close), min / median | time to open p50 / p99 ms | Redis round trips per handshake | per close | Redis commands run per handshake (script\'s own included) | failed |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const v of result.variants ?? []) {
    lines.push(`| ${v.variant} | ${fixed(v.cpuUsPerConnectionMin, 0)} / ${fixed(v.cpuUsPerConnectionMedian, 0)} | ${fixed(v.openP50Ms, 2)} / ${fixed(v.openP99Ms, 2)} | ${fixed(v.roundTripsPerHandshake, 3)} | ${fixed(v.roundTripsPerClose, 3)} | ${fixed(v.commandsPerHandshake, 1)} | ${v.failed} |`);
  }
  return lines.join('\n');
}
