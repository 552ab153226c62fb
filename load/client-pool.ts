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
    const fail = (err: Error): void => {
      ws.terminate();
      reject(err);
    };
    ws.once('open', () => {
      ws.off('error', fail);
      ws.on('error', () => undefined);
      resolve(ws);
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Opens `count` clients with at most `concurrency` handshakes in flight. */
export async function openClients(port: number, count: number, concurrency: number): Promise<WebSocket[]> {
  const clients: WebSocket[] = [];
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      clients.push(await openClient(port));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } catch (err) {
    closeClients(clients);
    throw err;
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
