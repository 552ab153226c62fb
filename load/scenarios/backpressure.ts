// Worst-case memory per backpressured connection: clients that stop reading
// while the app keeps sending to them (here, the echo of what they sent). The
// proxy's resident memory grows by what it queues for each stalled client;
// kernel socket buffers are not in RSS. Read after the growth has stopped.
import type { WebSocket } from 'ws';
import { closeClients, tryOpenClients } from '../client-pool.js';
import { sampleProcesses } from '../proc-stats.js';
import type { RunningPeer } from '../peers.js';

export interface BackpressureParams {
  readonly connections: number;
  /** What each client sends (and so the app sends back to a client that reads nothing). */
  readonly bytesPerClient: number;
  /** Readings this far apart must agree within 1% before the figure is taken (at most 20 readings). */
  readonly settleMs: number;
}

export interface BackpressureResult {
  readonly connections: number;
  readonly failed: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly bytesPerConnection: number | undefined;
}

const MESSAGE_BYTES = 64 * 1024;

export async function runBackpressure(peer: RunningPeer, params: BackpressureParams): Promise<BackpressureResult> {
  const before = sampleProcesses(peer.pids()).rssBytes;
  const { clients, failures } = await tryOpenClients(peer.port, params.connections, 50);
  const message = Buffer.alloc(MESSAGE_BYTES, 0x61);
  for (const client of clients) {
    // The client's own socket stops reading: everything sent back to it piles up on the way.
    (client as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let sent = 0; sent < params.bytesPerClient; sent += MESSAGE_BYTES) client.send(message);
  }
  await Promise.all(clients.map(flushed));
  let after = sampleProcesses(peer.pids()).rssBytes;
  for (let reading = 0; reading < 20; reading++) {
    await new Promise((resolve) => setTimeout(resolve, params.settleMs));
    const now = sampleProcesses(peer.pids()).rssBytes;
    const settled = Math.abs(now - after) < after / 100;
    after = Math.max(after, now);
    if (settled) break;
  }
  await closeClients(clients);
  return {
    connections: clients.length,
    failed: failures.length,
    rssBeforeBytes: before,
    rssAfterBytes: after,
    bytesPerConnection: peer.pids().length > 0 && clients.length > 0 ? (after - before) / clients.length : undefined,
  };
}

/** Resolves once `ws` has handed everything it was given to the kernel. */
function flushed(client: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (client.bufferedAmount === 0 || client.readyState !== client.OPEN) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
}
