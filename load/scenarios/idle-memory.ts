// Idle memory: open many connections, send nothing, and read the proxy's
// resident memory before and after. The difference per connection is what a
// pod pays to hold a connection open. For a Node peer each reading comes after
// a forced full GC (over its inspector), so handshake garbage is not counted,
// and its JS heap in use is read as well.
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
  /** Node peers: whether a full GC ran before each reading. */
  readonly gcForced: boolean;
  /** Node peers: JS heap in use after the GC (V8's usedSize), before and after. */
  readonly heapBeforeBytes?: number;
  readonly heapAfterBytes?: number;
  readonly heapBytesPerConnection?: number;
}

interface Reading {
  readonly rssBytes: number;
  readonly heapBytes?: number;
}

/** RSS of the peer's processes; a Node peer collects its garbage first. */
async function read(peer: RunningPeer): Promise<Reading> {
  const heapBytes = await peer.heap?.collectAndMeasure();
  return { rssBytes: sampleProcesses(peer.pids()).rssBytes, heapBytes };
}

export async function runIdleMemory(peer: RunningPeer, params: IdleMemoryParams): Promise<IdleMemoryResult> {
  const before = await read(peer);
  const { clients, failures } = await tryOpenClients(peer.port, params.connections, params.concurrency);
  await new Promise((resolve) => setTimeout(resolve, params.settleMs));
  const after = await read(peer);
  await closeClients(clients);
  const perConnection = (from: number | undefined, to: number | undefined): number | undefined =>
    from === undefined || to === undefined || clients.length === 0 ? undefined : (to - from) / clients.length;
  return {
    connections: clients.length,
    failed: failures.length,
    firstFailure: failures[0]?.message,
    rssBeforeBytes: before.rssBytes,
    rssAfterBytes: after.rssBytes,
    bytesPerConnection: peer.pids().length > 0 ? perConnection(before.rssBytes, after.rssBytes) : undefined,
    gcForced: peer.heap !== undefined,
    heapBeforeBytes: before.heapBytes,
    heapAfterBytes: after.heapBytes,
    heapBytesPerConnection: perConnection(before.heapBytes, after.heapBytes),
  };
}
