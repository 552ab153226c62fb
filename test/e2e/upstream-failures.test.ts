// The app down, or dying mid-message: clients get a clear answer, the sidecar keeps serving.
import { createServer as createNetServer, connect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { closed, nextMessage, openClient } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

describe('upstream failures', () => {
  it('answers 502 to upgrades and plain requests when the app is down', async () => {
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${await deadPort()}`]);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const status = await new Promise<number>((resolve) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
      expect(status).toBe(502);
      const plain = await request(`http://127.0.0.1:${sidecar.dataPort}/`);
      expect(plain.statusCode).toBe(502);
      expect(await plain.body.json()).toEqual({ error: 'upstream_unreachable' });
      const metrics = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text();
      expect(metrics).toContain('ws_sidecar_connections_total{outcome="upstream_failed"} 1');
    } finally {
      sidecar.kill();
    }
  });

  it('in close mode, completes the handshake itself and closes with 1014 and a hint when the app is down', async () => {
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${await deadPort()}`, '--reject-with', 'close']);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`, ['chat']);
      const result = await closed(ws);
      expect(result.code).toBe(1014);
      expect(result.reason).toMatch(/^upstream_unreachable; delay_ms=\d+$/);
      expect(ws.protocol).toBe('chat');
    } finally {
      sidecar.kill();
    }
  });

  it('ends the client when the app resets mid-message, and serves the next connection', async () => {
    await withSidecar({  }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const appSide = await server;
      const raw = (appSide as unknown as { _socket: Socket })._socket;
      // Half a frame (header promises 1000 bytes, 10 arrive), then a TCP reset.
      raw.write(Buffer.concat([Buffer.from([0x82, 0x7e, 0x03, 0xe8]), Buffer.alloc(10)]));
      raw.resetAndDestroy();
      const result = await closed(ws);
      // Mid-frame: no close frame can be injected, so the client sees the connection drop.
      expect(result.code).toBe(1006);

      const next = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const echoed = nextMessage(next);
      next.send('still here');
      expect((await echoed).data.toString()).toBe('still here');
      next.close();
      await closed(next);
    });
  });

  it('sends close 1014 with a reconnect hint when the app drops between frames', async () => {
    await withSidecar({  }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const appSide = await server;
      appSide.terminate();
      const result = await closed(ws);
      expect(result.code).toBe(1014);
      expect(result.reason).toMatch(/^upstream lost; delay_ms=\d+$/);
    });
  });

  it('closes the app with 1001 when the client vanishes, and survives a client reset', async () => {
    await withSidecar({  }, async ({ app, sidecar }) => {
      const server = app.nextConnection();
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const appSide = await server;
      const appClosed = new Promise<number>((resolve) => appSide.once('close', (code) => resolve(code)));
      (ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
      expect(await appClosed).toBe(1001);

      // Garbage and resets from raw sockets do not take the process down.
      for (let i = 0; i < 20; i++) {
        const socket = connect(sidecar.dataPort, '127.0.0.1');
        await once(socket, 'connect');
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
        socket.on('error', () => undefined);
        socket.resetAndDestroy();
      }
      const next = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      next.close();
      await closed(next);
      expect(sidecar.child.exitCode).toBeNull();
    });
  });
});
