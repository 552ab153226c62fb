// Plain HTTP on the data port reaches the app, with X-Forwarded-* appended.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startApp, type TestApp } from '../helpers/apps.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe('plain HTTP forwarding', () => {
  let app: TestApp;
  let sidecar: SidecarProcess;
  let base: string;

  beforeAll(async () => {
    app = await startApp();
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    base = `http://127.0.0.1:${sidecar.dataPort}`;
  });
  afterAll(async () => {
    sidecar.kill();
    await app.close();
  });

  it('forwards a GET with its path, query and headers, appending X-Forwarded-*', async () => {
    const response = await request(`${base}/api/items?page=2`, { headers: { 'x-forwarded-for': '198.51.100.1', 'x-custom': 'kept' } });
    expect(response.statusCode).toBe(200);
    const echo = (await response.body.json()) as Echo;
    expect(echo.method).toBe('GET');
    expect(echo.url).toBe('/api/items?page=2');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(echo.headers['x-forwarded-for']).toBe('198.51.100.1, 127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe(`127.0.0.1:${sidecar.dataPort}`);
  });

  it('merges repeated X-Forwarded-For headers so our hop is always the last one', async () => {
    // A flat header list: the same header twice, as a client may send it.
    const response = await request(`${base}/who`, { headers: ['x-forwarded-for', '1.1.1.1', 'x-forwarded-for', '6.6.6.6'] });
    const echo = (await response.body.json()) as Echo;
    expect(echo.headers['x-forwarded-for']).toBe('1.1.1.1, 6.6.6.6, 127.0.0.1');
  });

  it('declines a non-WebSocket upgrade offer (h2c) by forwarding the request as plain HTTP', async () => {
    const socket = connect(sidecar.dataPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /h2c?x=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n');
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    await once(socket, 'end');
    expect(response).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(response).toContain('"url":"/h2c?x=1"');
    // Hop-by-hop headers, including those Connection names, stop at the sidecar.
    expect(response).not.toContain('"upgrade"');
    expect(response).not.toContain('http2-settings');
  });

  it('forwards a POST body of 5 MiB intact', async () => {
    const body = 'x'.repeat(5 * 1024 * 1024);
    const response = await request(`${base}/upload`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    const echo = (await response.body.json()) as Echo;
    expect(echo.method).toBe('POST');
    expect(echo.body.length).toBe(body.length);
    expect(echo.body === body).toBe(true);
  });

  it("passes the app's status and headers back", async () => {
    const teapot = await startApp({
      httpHandler: (_req, res) => {
        res.writeHead(418, { 'X-App': 'teapot', 'Set-Cookie': ['a=1', 'b=2'] });
        res.end('short and stout');
      },
    });
    const proxy = await startSidecarProcess(['--upstream', `http://127.0.0.1:${teapot.port}`]);
    try {
      const response = await request(`http://127.0.0.1:${proxy.dataPort}/`);
      expect(response.statusCode).toBe(418);
      expect(response.headers['x-app']).toBe('teapot');
      expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(await response.body.text()).toBe('short and stout');
    } finally {
      proxy.kill();
      await teapot.close();
    }
  });
});
