// Protocol garbage from either peer becomes close 1002 at the frame boundary, not a crash.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closed, nextMessage, openClient } from '../helpers/apps.js';
import { parseCloseFrame, rawUpgrade } from '../helpers/raw.js';
import { withSidecar } from '../helpers/with-sidecar.js';

describe('protocol errors', () => {
  it('answers a client frame with a reserved opcode with close 1002 to both sides', async () => {
    await withSidecar({  }, async ({ app, sidecar }) => {
      const appSide = app.nextConnection();
      const { socket } = await rawUpgrade(sidecar.dataPort);
      const appClosed = new Promise<number>((resolve) => void appSide.then((ws) => ws.once('close', resolve)));
      let bytes = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => (bytes = Buffer.concat([bytes, chunk])));
      // A masked text frame "hi" (forwarded), then opcode 0x3 (reserved).
      socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69, 0x83, 0x80, 0, 0, 0, 0]));
      await once(socket, 'close');
      const close = parseCloseFrame(bytes);
      expect(close?.code).toBe(1002);
      expect(close?.reason).toContain('reserved opcode');
      expect(await appClosed).toBe(1002);

      const next = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const echoed = nextMessage(next);
      next.send('after garbage');
      expect((await echoed).data.toString()).toBe('after garbage');
      next.close();
      await closed(next);
    });
  });

  it('closes the client with 1002 when the app sends a masked frame', async () => {
    await withSidecar({  }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const raw = (await server as unknown as { _socket: Socket })._socket;
      const clientClosed = closed(ws);
      raw.write(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x41]));
      const result = await clientClosed;
      expect(result.code).toBe(1002);
      expect(sidecar.child.exitCode).toBeNull();
    });
  });
});
