// Connection hygiene: slowloris handshakes, oversized headers, idle connections, dead peers.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, nextMessage, openClient } from '../helpers/apps.js';
import { startSilentApp } from '../helpers/raw.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

function rawSocketOf(ws: unknown): Socket {
  return (ws as { _socket: Socket })._socket;
}

describe('hygiene', () => {
  it('cuts a client that sends half an upgrade request at the handshake timeout, serving others meanwhile', async () => {
    await withSidecar({ args: ['--handshake-timeout', '1'] }, async ({ sidecar }) => {
      const slow = connect(sidecar.dataPort, '127.0.0.1');
      slow.on('error', () => undefined);
      await once(slow, 'connect');
      slow.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
      let answer = '';
      slow.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const slowClosed = once(slow, 'close');

      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const echoed = nextMessage(ws);
      ws.send('meanwhile');
      expect((await echoed).data.toString()).toBe('meanwhile');
      await slowClosed;
      expect(answer).toMatch(/^HTTP\/1.1 408/);
      expect(ws.readyState).toBe(ws.OPEN);
      ws.close();
      await closed(ws);
    });
  });

  it('answers 431 to a request head over --max-header-size', async () => {
    await withSidecar({ args: ['--max-header-size', '4096'] }, async ({ sidecar }) => {
      const response = await fetch(`http://127.0.0.1:${sidecar.dataPort}/`, { headers: { 'x-big': 'a'.repeat(8000) } });
      expect(response.status).toBe(431);
      const small = await fetch(`http://127.0.0.1:${sidecar.dataPort}/`, { headers: { 'x-small': 'a'.repeat(100) } });
      expect(small.status).toBe(200);
    });
  });

  it('caps upgrades waiting for the app (--max-pending-handshakes)', async () => {
    // An app that accepts TCP but never answers the upgrade keeps handshakes pending.
    const held: Socket[] = [];
    const mute = createServer((socket) => held.push(socket)).listen(0, '127.0.0.1');
    await once(mute, 'listening');
    const port = (mute.address() as AddressInfo).port;
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${port}`, '--max-pending-handshakes', '3', '--handshake-timeout', '30']);
    try {
      const pending = Array.from({ length: 3 }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
        ws.on('error', () => undefined);
        return ws;
      });
      while (held.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
      const fourth = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const status = await new Promise<number>((resolve) => {
        fourth.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        fourth.on('error', () => undefined);
      });
      expect(status).toBe(503);
      for (const ws of pending) ws.terminate();
    } finally {
      sidecar.kill();
      for (const socket of held) socket.destroy();
      mute.close();
    }
  });

  it('closes an idle connection with 1001 both ways, and leaves a busy one alone', async () => {
    await withSidecar({ args: ['--idle-timeout', '0.6'] }, async ({ app, sidecar }) => {
      const serverIdle = app.nextConnection();
      const idle = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/idle`);
      const appIdle = await serverIdle;
      const appClosed = new Promise<number>((resolve) => appIdle.once('close', resolve));
      const busy = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/busy`);
      let replies = 0;
      busy.on('message', () => replies++);
      const chatter = setInterval(() => busy.send('tick'), 100);
      const result = await closed(idle);
      clearInterval(chatter);
      expect(result.code).toBe(1001);
      expect(result.reason).toMatch(/^idle timeout; delay_ms=\d+$/);
      expect(await appClosed).toBe(1001);
      expect(busy.readyState).toBe(busy.OPEN);
      expect(replies).toBeGreaterThan(3);
      busy.close();
      await closed(busy);
    });
  });

  it('pings clients, consumes their pongs, and closes a peer that stops answering (the app gets 1001)', async () => {
    await withSidecar({ args: ['--ping-interval', '0.3', '--close-timeout', '1'] }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const appSide = await server;
      let appPongs = 0;
      appSide.on('pong', () => appPongs++);
      // The sidecar's pings reach the client; the client's answers never reach the app.
      await new Promise<void>((resolve) => {
        let pings = 0;
        ws.on('ping', () => ++pings === 3 && resolve());
      });
      expect(appPongs).toBe(0);
      // The app's own ping still gets its pong.
      const appPong = new Promise<Buffer>((resolve) => appSide.once('pong', resolve));
      appSide.ping(Buffer.from('app-ping'));
      expect((await appPong).toString()).toBe('app-ping');

      // Now the client goes silent (as a dead half-open peer would).
      const appClosed = new Promise<number>((resolve) => appSide.once('close', resolve));
      rawSocketOf(ws).pause();
      expect(await appClosed).toBe(1001);
      ws.terminate();
    });
  });

  it('keeps a live but quiet connection open with pings', async () => {
    const app = await startSilentApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--ping-interval', '0.2']);
    try {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      await new Promise<void>((resolve) => {
        let pings = 0;
        ws.on('ping', () => ++pings === 6 && resolve());
      });
      // Six intervals of silence from the app, and the client answered each ping: still open.
      expect(ws.readyState).toBe(ws.OPEN);
      ws.terminate();
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
