// Worst-case memory at the cap: N clients that stop reading while the app streams
// to them (test/helpers/stream-app.ts, in its own process). For each peer, on a
// fresh instance: the proxy's RSS before the clients, with them open and idle, and
// once every stream has stalled; per connection. Then the readers come back and
// each must get its stream again. The naive Node proxy (http-proxy: socket.pipe
// both ways) is the baseline; peers run in turn, the order alternating per round.
//   npx tsx load/slow-readers.ts [--clients 1000,3000] [--peers http-proxy,ws-sidecar,ws-sidecar-native]
//                                [--rounds 1] [-- extra ws-sidecar flags, e.g. --max-memory 160Mi]
// WS_SIDECAR_CLI=/other/dist/proxy/main.js measures another build (before/after a change).
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { START_STREAM, untilStalled, type StreamAppStats } from '../test/helpers/stream-app.js';
import { closeClients, openClients } from './client-pool.js';
import { startNodeChild } from './node-child.js';
import { peerUnavailable, startPeer, type PeerName } from './peers.js';
import { sampleProcesses } from './proc-stats.js';

const MiB = 1024 * 1024;
/** Readings this far apart with no byte delivered to any client, STALL_READINGS times in a row: every stream has stalled. */
const STALL_READING_MS = 1000;
const STALL_READINGS = 2;
const STALL_LIMIT_MS = 90_000;

export interface SlowReadersResult {
  readonly peer: PeerName;
  readonly clients: number;
  readonly rssBeforeBytes: number;
  readonly rssIdleBytes: number;
  readonly rssStalledBytes: number;
  /** How long the streams took to stall. */
  readonly stallMs: number;
  /** Clients that got their stream again after reading resumed (should be all). */
  readonly resumed: number;
  /** RSS with every reader back and streaming, and after all clients closed: does RSS fall? */
  readonly rssResumedBytes: number;
  readonly rssClosedBytes: number;
  /** ws-sidecar peers, from their /metrics at the stall: V8 heap used + external (Buffers). */
  readonly liveStalledBytes: number | undefined;
  readonly liveClosedBytes: number | undefined;
  /** ws-sidecar peers: the memory budget's state at the stall and what it counted as used. */
  readonly budgetAtStall: string | undefined;
}

/** `state used/budget MiB, N paused` from a sidecar's memory metrics. */
async function budgetReading(adminPort: number | undefined): Promise<string | undefined> {
  if (adminPort === undefined) return undefined;
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const read = (series: string): number => Number(text.split('\n').find((line) => line.startsWith(series + ' '))?.slice(series.length + 1) ?? NaN);
  const budget = read('ws_sidecar_memory_budget_bytes');
  if (!(budget > 0)) return 'off';
  const state = ['normal', 'refusing', 'throttling'].find((name) => read(`ws_sidecar_memory_state{state="${name}"}`) === 1);
  return `${state} ${mib(read('ws_sidecar_memory_used_bytes'))}/${mib(budget)}, ${read('ws_sidecar_memory_reads_paused_total')} paused, ${mib(read('ws_sidecar_memory_queued_bytes'))} queued`;
}

/** heapUsed + external from a sidecar's /metrics (prom-client's default metrics). */
async function liveBytes(adminPort: number | undefined): Promise<number | undefined> {
  if (adminPort === undefined) return undefined;
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return read('nodejs_heap_size_used_bytes') + read('nodejs_external_memory_bytes');
}

async function appStats(port: number): Promise<StreamAppStats> {
  return (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as StreamAppStats;
}

function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

export async function runSlowReaders(peerName: PeerName, clients: number, sidecarArgs: readonly string[]): Promise<SlowReadersResult> {
  const app = await startNodeChild('./stream-app.ts');
  const workDir = mkdtempSync(join(tmpdir(), 'slow-readers-'));
  const peer = await startPeer(peerName, { appPort: app.port, workDir, maxConnections: clients + 100, sidecarArgs });
  const rss = (): number => sampleProcesses(peer.pids()).rssBytes;
  try {
    await sleep(500);
    const rssBeforeBytes = rss();
    const sockets = await openClients(peer.port, clients, 100);
    const received = new Map<WebSocket, number>();
    for (const ws of sockets) {
      received.set(ws, 0);
      ws.on('message', () => received.set(ws, received.get(ws)! + 1));
    }
    await sleep(500);
    const rssIdleBytes = rss();
    // Every client stops reading, then asks for its stream: it backs up into the kernel and the proxy.
    for (const ws of sockets) socketOf(ws).pause();
    for (const ws of sockets) ws.send(START_STREAM);
    const stallStarted = Date.now();
    await untilStalled(() => appStats(app.port), { everyMs: STALL_READING_MS, readings: STALL_READINGS, streaming: clients, withinMs: STALL_LIMIT_MS, what: `${peerName}: streams` });
    const stallMs = Date.now() - stallStarted - STALL_READINGS * STALL_READING_MS;
    const rssStalledBytes = rss();
    const liveStalledBytes = await liveBytes(peer.adminPort);
    const budgetAtStall = await budgetReading(peer.adminPort);
    // The readers return: each must get messages again.
    const before = new Map(received);
    for (const ws of sockets) socketOf(ws).resume();
    const resumeStarted = Date.now();
    let resumed = 0;
    while (Date.now() - resumeStarted < 30_000) {
      resumed = sockets.filter((ws) => received.get(ws)! > before.get(ws)!).length;
      if (resumed === clients) break;
      await sleep(200);
    }
    await sleep(1000);
    const rssResumedBytes = rss();
    await closeClients(sockets);
    await sleep(2000);
    const rssClosedBytes = rss();
    const liveClosedBytes = await liveBytes(peer.adminPort);
    return { peer: peerName, clients, rssBeforeBytes, rssIdleBytes, rssStalledBytes, stallMs, resumed, rssResumedBytes, rssClosedBytes, liveStalledBytes, liveClosedBytes, budgetAtStall };
  } finally {
    await peer.stop();
    await app.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function slowReadersLine(r: SlowReadersResult): string {
  const perConnection = (r.rssStalledBytes - r.rssBeforeBytes) / r.clients / 1024;
  const queued = (r.rssStalledBytes - r.rssIdleBytes) / r.clients / 1024;
  return (
    `| ${r.peer} | ${r.clients} | ${(r.rssBeforeBytes / MiB).toFixed(1)} | ${(r.rssIdleBytes / MiB).toFixed(1)} | ${(r.rssStalledBytes / MiB).toFixed(1)} ` +
    `| ${perConnection.toFixed(1)} | ${queued.toFixed(1)} | ${(r.stallMs / 1000).toFixed(1)} | ${r.resumed}/${r.clients} ` +
    `| ${mib(r.rssResumedBytes)} | ${mib(r.rssClosedBytes)} | ${mib(r.liveStalledBytes)} | ${mib(r.liveClosedBytes)} | ${r.budgetAtStall ?? '–'} |`
  );
}

const mib = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / MiB).toFixed(1));

export const SLOW_READERS_HEADER =
  '| peer | clients | RSS before MiB | idle MiB | stalled MiB | KiB / conn (stalled − before) | KiB / conn (stalled − idle) | stall s | resumed | RSS resumed MiB | RSS closed MiB | heap+external stalled MiB | heap+external closed MiB | budget at the stall |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dash = process.argv.indexOf('--', 2);
  const { values } = parseArgs({
    args: process.argv.slice(2, dash > 0 ? dash : undefined),
    options: { clients: { type: 'string', default: '1000,3000' }, peers: { type: 'string', default: 'http-proxy,ws-sidecar,ws-sidecar-native' }, rounds: { type: 'string', default: '1' } },
  });
  const extra = dash > 0 ? process.argv.slice(dash + 1) : [];
  const counts = values.clients.split(',').map(Number);
  const peers = values.peers.split(',') as PeerName[];
  console.log(SLOW_READERS_HEADER);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const count of counts) {
      for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
        const skipped = peerUnavailable(peer);
        if (skipped) {
          console.log(`| ${peer} | ${count} | skipped: ${skipped} |`);
          continue;
        }
        console.log(slowReadersLine(await runSlowReaders(peer, count, extra)));
      }
    }
  }
}
