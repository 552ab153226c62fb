// Where the sidecar puts its close: at a message boundary when one comes within the grace,
// else between two frames — never inside a frame.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, openClient, startApp } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

describe('close injection boundaries', () => {
  it('waits for the end of a fragmented message when it comes within the grace', async () => {
    const messages: string[] = [];
    const app = await startApp({ onConnection: (ws) => ws.on('message', (data) => messages.push(String(data))) });
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '0', '--boundary-grace', '30', '--log-level', 'debug']);
    try {
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
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('closes between two frames once the grace is over', async () => {
    const messages: string[] = [];
    const app = await startApp({ onConnection: (ws) => ws.on('message', (data) => messages.push(String(data))) });
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '0', '--boundary-grace', '0.2']);
    try {
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
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('in close mode, answers upgrades after the drain delay with a handshake and close 1012', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--reject-with', 'close']);
    try {
      await (await request(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' })).body.text();
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const result = await closed(ws);
      expect(result.code).toBe(1012);
      expect(result.reason).toMatch(/^draining; delay_ms=\d+$/);
      expect(app.upgrades.length).toBe(0);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
