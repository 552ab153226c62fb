// Peers that never answer a close are destroyed at --close-timeout, not left to the drain deadline.
import { once } from 'node:events';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { closed, openClient } from '../helpers/apps.js';
import { parseCloseFrame, rawUpgrade, startSilentApp } from '../helpers/raw.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

interface Summary {
  drained: boolean;
  destroyedAtDeadline: number;
  connectionsDrained: number;
}

describe('close timeouts', () => {
  it('destroys a client that never answers the close at --close-timeout', async () => {
    await withSidecar({ args: ['--drain-spread', '0', '--close-timeout', '1', '--drain-timeout', '30'] }, async ({ app, sidecar }) => {
      const appSide = app.nextConnection();
      const { socket, head } = await rawUpgrade(sidecar.dataPort);
      expect(head).toMatch(/^HTTP\/1.1 101/);
      const appClosed = new Promise<number>((resolve) => void appSide.then((ws) => ws.once('close', resolve)));
      let bytes = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => (bytes = Buffer.concat([bytes, chunk])));
      const socketClosed = once(socket, 'close');

      const response = await request(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' });
      const summary = (await response.body.json()) as Summary;
      await socketClosed;
      // The silent client got its 1012, never answered, and was cut at the close timeout.
      expect(parseCloseFrame(bytes)?.code).toBe(1012);
      expect(await appClosed).toBe(1001);
      expect(summary).toMatchObject({ drained: true, connectionsDrained: 1, destroyedAtDeadline: 0 });
    });
  });

  it('tells the client anyway and cuts the app when the app never answers its close', async () => {
    const app = await startSilentApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '0', '--close-timeout', '1', '--drain-timeout', '30']);
    try {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const clientClosed = closed(ws);
      const response = await request(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' });
      const summary = (await response.body.json()) as Summary;
      const result = await clientClosed;
      expect(result.code).toBe(1012);
      expect(result.reason).toMatch(/^draining; delay_ms=\d+$/);
      expect(summary).toMatchObject({ drained: true, destroyedAtDeadline: 0 });
      expect(app.sockets[0]!.destroyed || app.sockets[0]!.readableEnded).toBe(true);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('destroys what is left at --drain-timeout', async () => {
    const app = await startSilentApp();
    // The close timeout ends where the deadline does: whichever fires first, nothing is left after it.
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '0', '--close-timeout', '1', '--drain-timeout', '1']);
    try {
      const { socket } = await rawUpgrade(sidecar.dataPort);
      const socketClosed = once(socket, 'close');
      sidecar.child.kill('SIGTERM');
      await socketClosed;
      expect(await sidecar.exited).toBe(0);
      const finished = sidecar.logs.find((line) => line.msg === 'drain finished');
      expect(finished?.destroyedAtDeadline).toBeLessThanOrEqual(1);
      expect(finished?.connectionsDrained).toBe(1);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
