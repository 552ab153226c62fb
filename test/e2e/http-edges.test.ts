// HTTP edges as nginx and Envoy handle them: interim 1xx answers before the 101, HTTP/1.0
// without Host and with an upgrade, and a non-WebSocket upgrade offer that carries a body.
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { nextMessage, openClient, closed } from '../helpers/apps.js';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startPythonEchoApp } from '../helpers/python-app.js';
import { startHandshakeApp, switchingProtocols } from '../helpers/raw.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

/** Writes `request` on a fresh connection and reads until the peer ends (or `until` matches). */
async function exchange(port: number, request: string | Buffer[], until?: RegExp): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let text = '';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until?.test(text)) resolve();
    });
    socket.on('close', () => resolve());
  });
  for (const part of typeof request === 'string' ? [request] : request) socket.write(part);
  await done;
  socket.destroy();
  return text;
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The app's JSON echo from a raw response, chunked or not. */
function echoOf(response: string): Echo {
  const split = response.indexOf('\r\n\r\n');
  let body = response.slice(split + 4);
  if (/\r\ntransfer-encoding: chunked\r\n/i.test(response.slice(0, split + 2))) {
    let decoded = '';
    for (;;) {
      const line = body.indexOf('\r\n');
      const size = parseInt(body.slice(0, line), 16);
      if (!size) break;
      decoded += body.slice(line + 2, line + 2 + size);
      body = body.slice(line + 2 + size + 2);
    }
    body = decoded;
  }
  return JSON.parse(body) as Echo;
}

const H2C_OFFER = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n';

describe('HTTP edges', () => {
  it('forwards a POST that offers h2c with its body (Content-Length, body in a later write)', async () => {
    await withSidecar({}, async ({ sidecar }) => {
      const response = await exchange(sidecar.dataPort, [
        Buffer.from(`POST /upload HTTP/1.1\r\nHost: x\r\n${H2C_OFFER}Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello`),
        Buffer.from(' world'),
      ]);
      expect(response).toMatch(/^HTTP\/1.1 200 OK\r\n/);
      expect(response).toMatch(/\r\nConnection: close\r\n/i);
      const echo = echoOf(response);
      expect(echo).toMatchObject({ method: 'POST', url: '/upload', body: 'hello world' });
      expect(echo.headers.upgrade).toBeUndefined();
    });
  });

  it('forwards a chunked POST that offers h2c with its body', async () => {
    await withSidecar({}, async ({ sidecar }) => {
      const response = await exchange(sidecar.dataPort, `POST /chunks HTTP/1.1\r\nHost: x\r\n${H2C_OFFER}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`);
      expect(response).toMatch(/^HTTP\/1.1 200 OK\r\n/);
      expect(echoOf(response)).toMatchObject({ method: 'POST', url: '/chunks', body: 'hello world' });
    });
  });

  it('gives an HTTP/1.0 request without Host one (the app\'s address), as nginx does', async () => {
    await withSidecar({}, async ({ app, sidecar }) => {
      const response = await exchange(sidecar.dataPort, 'GET /old HTTP/1.0\r\n\r\n');
      expect(response).toMatch(/^HTTP\/1.1 200 OK\r\n/);
      const echo = echoOf(response);
      expect(echo.url).toBe('/old');
      expect(echo.headers.host).toBe(`127.0.0.1:${app.port}`);
    });
  });

  it('forwards an HTTP/1.0 upgrade as HTTP/1.0: an app that requires 1.1 refuses it as it would directly', async () => {
    const app = await startPythonEchoApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    try {
      const upgrade = 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
      const direct = await exchange(app.port, upgrade);
      const proxied = await exchange(sidecar.dataPort, upgrade);
      const status = (text: string): string => text.split('\r\n')[0]!;
      expect(status(direct)).not.toMatch(/ 101 /);
      expect(status(proxied)).toBe(status(direct));
      // HTTP/1.1 still upgrades.
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      ws.close();
      await closed(ws);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('relays a 103 Early Hints before the 101 and tunnels after it', async () => {
    // An app that sends an interim answer first, then upgrades and greets.
    const app = await startHandshakeApp((socket, accept) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n');
      socket.write(switchingProtocols(accept));
      socket.write(Buffer.from([0x81, 0x05, ...Buffer.from('hello')]));
    });
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    try {
      const raw = await exchange(sidecar.dataPort, 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', /hello$/);
      expect(raw).toMatch(/^HTTP\/1.1 103 Early Hints\r\nLink: <\/app.css>; rel=preload\r\n\r\nHTTP\/1.1 101 Switching Protocols\r\n/);
      // The greeting comes with the 101: listen before 'open'.
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const greeting = nextMessage(ws);
      await once(ws, 'open');
      expect((await greeting).data.toString()).toBe('hello');
      ws.terminate();
      const series = parseExposition(await scrape(sidecar.adminPort));
      expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'accepted' })).toBe(2);
      expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'upstream_failed' })).toBe(0);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
