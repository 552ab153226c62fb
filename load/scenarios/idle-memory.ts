// Idle memory: open many connections, send nothing, and read the proxy's
// resident memory before and after. The difference per connection is what a
// pod pays to hold a connection open.
import { closeClients, tryOpenClients } from '../client-pool.js';
import { sampleProcesses } from '../proc-stats.js';
import type { RunningPeer } from '../peers.js';

export interface IdleMemoryParams {
  readonly connections: number;
  readonly concurrency: number;
  /** Time for the proxy's allocations to settle before the reading. */
  readonly settleMs: number;
}

export interface IdleMemoryResult {
  readonly connections: number;
  /** Connections that could not be opened (the peer's limits, or the machine's). */
  readonly failed: number;
  readonly firstFailure?: string;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** undefined for direct (no proxy process). */
  readonly bytesPerConnection: number | undefined;
}

export async function runIdleMemory(peer: RunningPeer, params: IdleMemoryParams): Promise<IdleMemoryResult> {
  const before = sampleProcesses(peer.pids());
  const { clients, failures } = await tryOpenClients(peer.port, params.connections, params.concurrency);
  await new Promise((resolve) => setTimeout(resolve, params.settleMs));
  const after = sampleProcesses(peer.pids());
  await closeClients(clients);
  return {
    connections: clients.length,
    failed: failures.length,
    firstFailure: failures[0]?.message,
    rssBeforeBytes: before.rssBytes,
    rssAfterBytes: after.rssBytes,
    bytesPerConnection: peer.pids().length > 0 ? (after.rssBytes - before.rssBytes) / clients.length : undefined,
  };
}
