// Where the sidecar puts its close: at a message boundary when one comes within the grace,
// else between two frames — never inside a frame.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, openClient } from '../helpers/apps.js';
import { withSidecar } from '../helpers/with-sidecar.js';

describe('close injection boundaries', () => {
  it('waits for the end of a fragmented message when it comes within the grace', async () => {
    const messages: string[] = [];
    await withSidecar({ app: { onConnection: (ws) => ws.on('message', (data) => messages.push(String(data))) }, args: ['--drain-spread', '0', '--boundary-grace', '30', '--log-level', 'debug'] }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const appSide = await server;
      const appClosed = new Promise<number>((resolve) => appSide.once('close', resolve));
      const clientClosed = closed(ws);
      ws.send('first half, ', { fin: false });
      await (await request(`http://127.0.0.1:${sidecar.adminPort}/drain`, { method: 'POST' })).body.text();
      await sidecar.waitForLog((line) => line.msg === 'closing connection');
      // The close is pending behind this unfinished message; finishing it lets the close through.
      ws.send('second half', { fin: true });
      expect(await appClosed).toBe(1001);
      expect(messages).toEqual(['first half, second half']);
      expect((await clientClosed).code).toBe(1012);
    });
  });

  it('closes between two frames once the grace is over', async () => {
    const messages: string[] = [];
    await withSidecar({ app: { onConnection: (ws) => ws.on('message', (data) => messages.push(String(data))) }, args: ['--drain-spread', '0', '--boundary-grace', '0.2'] }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const appSide = await server;
      const appClosed = new Promise<number>((resolve) => appSide.once('close', resolve));
      const clientClosed = closed(ws);
      ws.send('never finished', { fin: false });
      await (await request(`http://127.0.0.1:${sidecar.adminPort}/drain`, { method: 'POST' })).body.text();
      expect(await appClosed).toBe(1001);
      expect(messages).toEqual([]);
      expect((await clientClosed).code).toBe(1012);
    });
  });

  it('in close mode, answers upgrades after the drain delay with a handshake and close 1012', async () => {
    await withSidecar({ args: ['--reject-with', 'close'] }, async ({ app, sidecar }) => {
      await (await request(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' })).body.text();
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const result = await closed(ws);
      expect(result.code).toBe(1012);
      expect(result.reason).toMatch(/^draining; delay_ms=\d+$/);
      expect(app.upgrades.length).toBe(0);
    });
  });
});
