// Saturation: a few connections each keep a window of messages in flight and
// send the next as soon as an echo comes back, so the slowest process in the
// chain sets the pace. Reports echoed messages per second and proxy CPU per echo.
import type { WebSocket } from 'ws';
import { closeClients, openClients } from '../client-pool.js';
import { sampleProcesses } from '../proc-stats.js';
import type { RunningPeer } from '../peers.js';
import { waitUntil } from './steady.js';

export interface SaturationParams {
  readonly connections: number;
  /** Messages in flight per connection. */
  readonly window: number;
  readonly payloadBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface SaturationResult {
  readonly roundTripsPerSecond: number;
  readonly cpuUsPerRoundTrip: number | undefined;
}

export async function runSaturation(peer: RunningPeer, params: SaturationParams): Promise<SaturationResult> {
  const clients = await openClients(peer.port, params.connections, 64);
  const payload = Buffer.alloc(params.payloadBytes, 0x61);
  let received = 0;
  let sending = true;
  let inFlight = 0;
  for (const ws of clients) {
    ws.on('message', () => {
      received++;
      inFlight--;
      if (sending) send(ws);
    });
  }
  const send = (ws: WebSocket): void => {
    inFlight++;
    ws.send(payload);
  };
  for (const ws of clients) for (let i = 0; i < params.window; i++) send(ws);

  await new Promise((resolve) => setTimeout(resolve, params.warmupMs));
  const receivedBefore = received;
  const before = sampleProcesses(peer.pids());
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, params.durationMs));
  const after = sampleProcesses(peer.pids());
  const elapsedMs = performance.now() - startedAt;
  const roundTrips = received - receivedBefore;
  sending = false;
  await waitUntil(() => inFlight === 0, 2000);
  await closeClients(clients);
  return {
    roundTripsPerSecond: (roundTrips * 1000) / elapsedMs,
    cpuUsPerRoundTrip: peer.pids().length > 0 && roundTrips > 0 ? (after.cpuMicros - before.cpuMicros) / roundTrips : undefined,
  };
}
