// The upstream checks against real servers on 127.0.0.1:0.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpCheck, tcpCheck, UpstreamProbe, wsCheck } from '../../proxy/admin/upstream-check.js';
import { startApp, type TestApp } from '../helpers/apps.js';

const TIMEOUT_MS = 2000;

describe('upstream checks', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function app(options: Parameters<typeof startApp>[0] = {}): Promise<TestApp> {
    const started = await startApp(options);
    cleanups.push(() => started.close());
    return started;
  }

  /** A port nothing listens on (bound, then released). */
  async function closedPort(): Promise<number> {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  /** Sockets the server accepted, to see how the check leaves them. */
  function trackSockets(server: Server): Socket[] {
    const sockets: Socket[] = [];
    server.on('connection', (socket: Socket) => sockets.push(socket));
    return sockets;
  }

  it('tcp: up when something listens, the errno when not', async () => {
    const target = await app();
    expect(await tcpCheck({ host: '127.0.0.1', port: target.port }, TIMEOUT_MS)).toEqual({ up: true, reason: 'ok' });
    expect(await tcpCheck({ host: '127.0.0.1', port: await closedPort() }, TIMEOUT_MS)).toEqual({ up: false, reason: 'ECONNREFUSED' });
  });

  it('http: 2xx is up, anything else is down with the status, and no connection is kept', async () => {
    const target = await app({
      httpHandler: (req, res) => {
        res.writeHead(req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 503, { location: '/ok' });
        res.end('body to be dropped');
      },
    });
    const sockets = trackSockets(target.server);
    const address = { host: '127.0.0.1', port: target.port };
    const probe = new UpstreamProbe(address, { kind: 'http', path: '/ok' }, TIMEOUT_MS);
    cleanups.push(() => probe.close());
    expect(await probe.probe()).toMatchObject({ up: true, reason: 'ok' });
    // Our dispatcher does not keep the connection for later.
    await Promise.all(sockets.map((socket) => (socket.destroyed ? undefined : once(socket, 'close'))));
    expect(await httpCheck(address, '/moved', TIMEOUT_MS)).toEqual({ up: false, reason: 'status 302' });
    expect(await httpCheck(address, '/down', TIMEOUT_MS)).toEqual({ up: false, reason: 'status 503' });
    expect(await httpCheck({ host: '127.0.0.1', port: await closedPort() }, '/ok', TIMEOUT_MS)).toEqual({ up: false, reason: 'ECONNREFUSED' });
  });

  it('http: an app that never answers is down with a timeout', async () => {
    const target = await app({ httpHandler: () => undefined });
    expect(await httpCheck({ host: '127.0.0.1', port: target.port }, '/', 200)).toEqual({ up: false, reason: 'timeout' });
  });

  it('ws: a real handshake at the path, then close 1000', async () => {
    const target = await app();
    // Listen for the close as soon as the app has the connection: it may come before the check resolves.
    const appClosed = target.nextConnection().then((ws) => once(ws, 'close') as Promise<[number, Buffer]>);
    expect(await wsCheck({ host: '127.0.0.1', port: target.port }, '/live?x=1', TIMEOUT_MS)).toEqual({ up: true, reason: 'ok' });
    expect(target.upgrades[0]!.url).toBe('/live?x=1');
    expect(target.upgrades[0]!.headers['user-agent']).toBe('ws-sidecar-upstream-check');
    const [code] = await appClosed;
    expect(code).toBe(1000);
  });

  it('ws: down when the app refuses the upgrade or is not a WebSocket server', async () => {
    const refusing = await app({ wsOptions: { verifyClient: () => false } });
    expect(await wsCheck({ host: '127.0.0.1', port: refusing.port }, '/', TIMEOUT_MS)).toEqual({ up: false, reason: 'status 401' });
    const plain = createServer((_req, res) => res.end('hello'));
    plain.on('upgrade', (_req, socket: Socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    expect(await wsCheck({ host: '127.0.0.1', port: (plain.address() as AddressInfo).port }, '/', TIMEOUT_MS)).toEqual({ up: false, reason: 'status 404' });
  });

  it('ws: an app that accepts but never answers the close does not keep the socket', async () => {
    // A deaf app: a correct 101, then every byte it gets is read and ignored.
    const server = createServer();
    const sockets = trackSockets(server);
    server.on('upgrade', (req, socket: Socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('error', () => undefined);
      socket.resume();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    expect(await wsCheck({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }, '/', 300)).toEqual({ up: true, reason: 'ok' });
    expect(sockets).toHaveLength(1);
    // The check lets go of its end within its timeout (the app's half stays open: allowHalfOpen).
    const socket = sockets[0]!;
    await new Promise((resolve) => (socket.readableEnded || socket.destroyed ? resolve(undefined) : (socket.once('end', resolve), socket.once('close', resolve))));
    socket.destroy();
  });

  it('caches a result for a second and shares a check under way', async () => {
    const target = await app();
    const sockets = trackSockets(target.server);
    const probe = new UpstreamProbe({ host: '127.0.0.1', port: target.port }, { kind: 'tcp' }, TIMEOUT_MS);
    cleanups.push(() => probe.close());
    expect(probe.last).toMatchObject({ up: false, reason: 'not_checked_yet', checkedAtMs: 0 });
    const results = await Promise.all([probe.probe(), probe.probe(), probe.probe()]);
    expect(await probe.probe()).toBe(results[0]);
    expect(results.every((result) => result === results[0] && result.up)).toBe(true);
    expect(sockets).toHaveLength(1);
    expect(probe.up).toBe(true);
    expect(probe.description).toBe('tcp');
  });
});
