// A client that stops reading must not make the sidecar buffer what the app sends.
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openClient, startApp } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

const MESSAGE = Buffer.alloc(1024 * 1024, 0x5a);
const COUNT = 200;

async function scrape(adminPort: number, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return Number(pattern.exec(text)![1]);
}

describe('backpressure', () => {
  it('holds RSS growth under 64 MiB while a paused client is sent 200 MiB, then delivers all of it', async () => {
    const app = await startApp({ onConnection: () => undefined });
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    const rss = (): Promise<number> => scrape(sidecar.adminPort, /^process_resident_memory_bytes (\d+)/m);
    const forwarded = (): Promise<number> => scrape(sidecar.adminPort, /ws_sidecar_bytes_total\{direction="upstream_to_client"\} (\d+)/);
    try {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`, undefined, { maxPayload: 2 * MESSAGE.length });
      const appSide = await server;
      const clientSocket = (ws as unknown as { _socket: Socket })._socket;
      let received = 0;
      let intact = true;
      ws.on('message', (data: Buffer) => {
        received++;
        if (!data.equals(MESSAGE)) intact = false;
      });
      clientSocket.pause();
      const rssBefore = await rss();
      // The same buffer each time: the app side holds one copy, not 200 MiB.
      for (let i = 0; i < COUNT; i++) appSide.send(MESSAGE, { binary: true });

      // Wait until the flow stalls (the scanner's byte count stops moving).
      let last = -1;
      let current = await forwarded();
      while (current !== last) {
        await sleep(250);
        last = current;
        current = await forwarded();
      }
      const rssStalled = await rss();
      console.info(`backpressure: ${(current / 2 ** 20).toFixed(1)} MiB forwarded before the stall, sidecar RSS +${((rssStalled - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
      expect(current).toBeLessThan(COUNT * MESSAGE.length);
      expect(rssStalled - rssBefore).toBeLessThan(64 * 1024 * 1024);

      const all = new Promise<void>((resolve) => ws.on('message', () => received === COUNT && resolve()));
      clientSocket.resume();
      await all;
      expect(received).toBe(COUNT);
      expect(intact).toBe(true);
      ws.terminate();
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
