// Opening many `ws` clients quickly: a bounded number of handshakes in flight,
// and source addresses rotated over 127.0.0.2… so tens of thousands of
// connections (and their TIME_WAITs) do not exhaust one address's ports.
import { WebSocket } from 'ws';

/** Loopback source addresses used in turn (all of 127/8 is local on Linux). */
export const SOURCE_ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);

let nextSource = 0;

export function nextSourceAddress(): string {
  const address = SOURCE_ADDRESSES[nextSource]!;
  nextSource = (nextSource + 1) % SOURCE_ADDRESSES.length;
  return address;
}

/** Opens one client from the next source address; rejects on error or a non-101. */
export function openClient(port: number, path = '/'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { localAddress: nextSourceAddress(), perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    // `ws` may report more than one error for a failed handshake: every one is handled.
    const fail = (err: Error): void => {
      ws.terminate();
      reject(err);
    };
    ws.once('open', () => {
      ws.off('error', fail);
      ws.on('error', () => undefined);
      resolve(ws);
    });
    ws.on('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Opens `count` clients with at most `concurrency` handshakes in flight; failures are counted. */
export async function tryOpenClients(port: number, count: number, concurrency: number): Promise<{ clients: WebSocket[]; failures: Error[] }> {
  const clients: WebSocket[] = [];
  const failures: Error[] = [];
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      await openClient(port).then(
        (ws) => clients.push(ws),
        (err: Error) => failures.push(err),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { clients, failures };
}

/** Opens `count` clients or none: the first failure closes the rest and rejects. */
export async function openClients(port: number, count: number, concurrency: number): Promise<WebSocket[]> {
  const { clients, failures } = await tryOpenClients(port, count, concurrency);
  if (failures.length > 0) {
    await closeClients(clients);
    throw new Error(`${failures.length} of ${count} connections failed, first: ${failures[0]!.message}`);
  }
  return clients;
}

/** Closes politely and waits for every close handshake (or the socket's end). */
export async function closeClients(clients: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          if (ws.readyState === WebSocket.OPEN) ws.close(1000);
          else ws.terminate();
        }),
    ),
  );
}
