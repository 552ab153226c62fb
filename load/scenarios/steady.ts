// Steady connections with traffic at a fixed rate: each message carries its
// send time; the echo's arrival gives the round-trip time. Sending follows the
// clock, not the replies (open loop), so a slow proxy cannot hide its queueing.
import { build } from 'hdr-histogram-js';
import type { WebSocket } from 'ws';
import { closeClients, openClients } from '../client-pool.js';
import { sampleProcesses } from '../proc-stats.js';
import type { RunningPeer } from '../peers.js';

export interface SteadyParams {
  readonly connections: number;
  readonly messagesPerSecond: number;
  readonly payloadBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface SteadyResult {
  readonly roundTrips: number;
  readonly lostReplies: number;
  readonly rttP50Us: number;
  readonly rttP99Us: number;
  readonly rttMaxUs: number;
  /** Proxy CPU (user + sys) per echoed message; undefined for direct. */
  readonly cpuUsPerRoundTrip: number | undefined;
}

export async function runSteady(peer: RunningPeer, params: SteadyParams): Promise<SteadyResult> {
  const clients = await openClients(peer.port, params.connections, 100);
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let recording = false;
  let received = 0;
  const onMessage = (data: Buffer): void => {
    if (!recording) return;
    histogram.recordValue(Math.max(1, Math.round((performance.now() - data.readDoubleLE(0)) * 1000)));
    received++;
  };
  for (const ws of clients) ws.on('message', onMessage);

  await sendAtRate(clients, params, params.warmupMs);
  // Replies to warm-up messages still in flight are not counted: start on a quiet line.
  await new Promise((resolve) => setTimeout(resolve, 100));
  recording = true;
  const before = sampleProcesses(peer.pids());
  const sent = await sendAtRate(clients, params, params.durationMs);
  await waitUntil(() => received >= sent, 2000);
  const after = sampleProcesses(peer.pids());
  recording = false;
  await closeClients(clients);
  return {
    roundTrips: received,
    lostReplies: sent - received,
    rttP50Us: histogram.getValueAtPercentile(50),
    rttP99Us: histogram.getValueAtPercentile(99),
    rttMaxUs: histogram.maxValue,
    cpuUsPerRoundTrip: peer.pids().length > 0 && received > 0 ? (after.cpuMicros - before.cpuMicros) / received : undefined,
  };
}

/** Sends `rate × duration` messages spread evenly, round-robin over the clients; returns how many. */
async function sendAtRate(clients: readonly WebSocket[], params: SteadyParams, durationMs: number): Promise<number> {
  const total = Math.round((params.messagesPerSecond * durationMs) / 1000);
  const startedAt = performance.now();
  let sent = 0;
  let next = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) * params.messagesPerSecond) / 1000));
    for (; sent < due; sent++) {
      const payload = Buffer.alloc(params.payloadBytes);
      payload.writeDoubleLE(performance.now(), 0);
      clients[next]!.send(payload);
      next = (next + 1) % clients.length;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return sent;
}

/** Resolves when the condition holds or the time is up (replies that never come must not hang the run). */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}
