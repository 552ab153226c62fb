// Bounded reads of the app's socket (data-path/bounded-reads.ts): the 101 and whatever the app
// pipelined after it in the same write still arrive whole, and a client that stops reading
// leaves at most one 16 KiB read queued for it in the sidecar (Node's own reads took 64 KiB).
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startHandshakeApp, switchingProtocols } from '../helpers/raw.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { START_STREAM, startStreamApp, untilStalled } from '../helpers/stream-app.js';

const READ_BYTES = 16 * 1024;

function binaryFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(10);
  header[0] = 0x82;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(payload.length), 2);
  return Buffer.concat([header, payload]);
}

describe('bounded reads of the app', () => {
  it('delivers a 200 KiB message the app wrote in the same write as its 101', async () => {
    const payload = Buffer.alloc(200 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    // One write: the head, then more than ten reads' worth of frame.
    const app = await startHandshakeApp((socket, accept) => socket.write(Buffer.concat([Buffer.from(switchingProtocols(accept), 'latin1'), binaryFrame(payload)])));
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const message = new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
      ws.on('error', () => undefined);
      expect((await message).equals(payload)).toBe(true);
      ws.terminate();
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('holds at most one 16 KiB read for each client that stops reading while the app streams', async () => {
    const app = await startStreamApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    const clients: WebSocket[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`, { perMessageDeflate: false });
        ws.on('error', () => undefined);
        await once(ws, 'open');
        (ws as unknown as { _socket: Socket })._socket.pause();
        ws.send(START_STREAM);
        clients.push(ws);
      }
      await untilStalled(() => app.stats(), { everyMs: 300, streaming: clients.length, withinMs: 60_000 });
      const queued = sample(parseExposition(await scrape(sidecar.adminPort)), 'ws_sidecar_memory_queued_bytes');
      console.info(`bounded reads: ${queued} bytes queued for ${clients.length} stalled clients`);
      expect(queued).toBeGreaterThan(0);
      expect(queued).toBeLessThanOrEqual(clients.length * READ_BYTES);
    } finally {
      for (const ws of clients) ws.terminate();
      sidecar.kill();
      await app.close();
    }
  });
});
