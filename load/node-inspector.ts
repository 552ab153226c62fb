// A Node peer's memory read from outside the process, with no change to its code:
// the peer runs with `--inspect=127.0.0.1:0`, and before each reading a short
// DevTools-protocol session over the inspector WebSocket forces a full garbage
// collection (HeapProfiler.collectGarbage) and asks for the JS heap in use
// (Runtime.getHeapUsage). Node never collects while idle, so without this RSS
// still holds whatever garbage the last handshakes left.
import type { Readable } from 'node:stream';
import { WebSocket } from 'ws';

/** The node flag that opens the inspector on a free loopback port (printed on stderr). */
export const INSPECT_FLAG = '--inspect=127.0.0.1:0';

const LISTENING = /Debugger listening on (ws:\/\/\S+)/;

/** A Node peer's collector, reachable over its inspector. */
export interface NodeHeapProbe {
  /** Forces a full collection, then returns the JS heap still in use, in bytes. */
  collectAndMeasure(): Promise<number>;
}

/**
 * Waits for Node's "Debugger listening on ws://…" line. `seen` is what the
 * process already wrote to stderr (the line may have come before we listen).
 */
function inspectorUrl(stderr: Readable, seen: () => string, exited: Promise<unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = LISTENING.exec(seen());
      if (match) {
        stderr.off('data', onData);
        resolve(match[1]!);
      }
      return match !== null;
    };
    // Our listener runs after the owner's accumulating one: `seen()` already has the chunk.
    const onData = (): void => void check();
    if (check()) return;
    stderr.on('data', onData);
    void exited.then(() => reject(new Error(`exited before the inspector listened: ${seen()}`)));
  });
}

/** The probe of a process started with INSPECT_FLAG, once its inspector listens. */
export async function inspectedHeap(stderr: Readable, seen: () => string, exited: Promise<unknown>): Promise<NodeHeapProbe> {
  const url = await inspectorUrl(stderr, seen, exited);
  return {
    async collectAndMeasure() {
      const session = await openSession(url);
      try {
        await session.call('HeapProfiler.collectGarbage');
        const usage = (await session.call('Runtime.getHeapUsage')) as { usedSize: number };
        return usage.usedSize;
      } finally {
        session.close();
      }
    },
  };
}

interface Session {
  call(method: string): Promise<unknown>;
  close(): void;
}

/** One DevTools-protocol session: numbered requests, answers matched by id. */
async function openSession(url: string): Promise<Session> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  const failAll = (err: Error): void => {
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.on('error', failAll);
  socket.on('close', () => failAll(new Error('inspector session closed')));
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return; // an event, not an answer
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  return {
    call(method) {
      const id = nextId++;
      socket.send(JSON.stringify({ id, method }));
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    close: () => socket.close(),
  };
}
