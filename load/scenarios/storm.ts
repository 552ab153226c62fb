// Connection storm: many short connections, each opened, used for one echo and
// closed by the client, with a bounded number in flight. The proxy's CPU per
// connection is the handshake cost the issue compares.
import { openClient } from '../client-pool.js';
import { sampleProcesses } from '../proc-stats.js';
import type { RunningPeer } from '../peers.js';

export interface StormParams {
  readonly connections: number;
  readonly concurrency: number;
  readonly payloadBytes: number;
}

export interface StormResult {
  readonly completed: number;
  readonly failed: number;
  readonly connectionsPerSecond: number;
  /** Proxy CPU per connection (open, one echo, close); undefined for direct. */
  readonly cpuUsPerConnection: number | undefined;
}

export async function runStorm(peer: RunningPeer, params: StormParams): Promise<StormResult> {
  const payload = Buffer.alloc(params.payloadBytes, 0x62);
  let started = 0;
  let completed = 0;
  let failed = 0;
  const before = sampleProcesses(peer.pids());
  const startedAt = performance.now();
  const worker = async (): Promise<void> => {
    while (started < params.connections) {
      started++;
      try {
        await oneConnection(peer.port, payload);
        completed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, worker));
  const elapsedMs = performance.now() - startedAt;
  // The proxy's side of the last closes may still be running: let it finish before reading.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = sampleProcesses(peer.pids());
  return {
    completed,
    failed,
    connectionsPerSecond: (completed * 1000) / elapsedMs,
    cpuUsPerConnection: peer.pids().length > 0 && completed > 0 ? (after.cpuMicros - before.cpuMicros) / completed : undefined,
  };
}

async function oneConnection(port: number, payload: Buffer): Promise<void> {
  const ws = await openClient(port);
  await new Promise<void>((resolve, reject) => {
    ws.once('message', () => resolve());
    ws.once('close', () => reject(new Error('closed before the echo')));
    ws.send(payload);
  });
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  });
}
