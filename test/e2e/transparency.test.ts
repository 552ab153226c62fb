// Through the real CLI: whatever client and app say to each other arrives unchanged.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, nextMessage, openClient, startApp, type TestApp } from '../helpers/apps.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';
import { rawUpgrade } from '../helpers/raw.js';

const SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024];

describe('transparency through the sidecar', () => {
  let app: TestApp;
  let sidecar: SidecarProcess;
  let url: string;

  beforeAll(async () => {
    app = await startApp({ wsOptions: { maxPayload: 64 * 1024 * 1024 } });
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    url = `ws://127.0.0.1:${sidecar.dataPort}`;
  });
  afterAll(async () => {
    sidecar.kill();
    await app.close();
  });

  it.each(SIZES)('text and binary messages of %i bytes arrive byte-identical both ways', async (size) => {
    const ws = await openClient(`${url}/echo`, undefined, { maxPayload: 64 * 1024 * 1024 });
    for (const isBinary of [false, true]) {
      const payload = isBinary ? randomBytes(size) : Buffer.from('é'.repeat(Math.floor(size / 2)) + (size % 2 ? 'x' : ''));
      const echoed = nextMessage(ws);
      ws.send(payload, { binary: isBinary });
      const { data, isBinary: echoedBinary } = await echoed;
      expect(echoedBinary).toBe(isBinary);
      expect(data.length).toBe(payload.length);
      expect(sha(data)).toBe(sha(payload));
    }
    ws.close();
    await closed(ws);
  });

  it('passes fragmented messages both ways', async () => {
    const server = app.nextConnection();
    const ws = await openClient(`${url}/fragments`);
    const appSide = await server;
    const appGot = nextMessage(appSide);
    ws.send('hel', { fin: false });
    ws.send('lo ', { fin: false });
    ws.send('world', { fin: true });
    expect((await appGot).data.toString()).toBe('hello world');
    // The echo comes back as one message; now fragments from the app side.
    await nextMessage(ws);
    const clientGot = nextMessage(ws);
    appSide.send(Buffer.from([1, 2]), { fin: false, binary: true });
    appSide.send(Buffer.from([3]), { fin: true, binary: true });
    expect([...(await clientGot).data]).toEqual([1, 2, 3]);
    ws.close();
    await closed(ws);
  });

  it('passes pings and pongs from either side', async () => {
    const server = app.nextConnection();
    const ws = await openClient(`${url}/ping`);
    const appSide = await server;
    const appPing = new Promise<Buffer>((resolve) => appSide.once('ping', resolve));
    const clientPong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('from-client'));
    expect((await appPing).toString()).toBe('from-client');
    expect((await clientPong).toString()).toBe('from-client');
    const clientPing = new Promise<Buffer>((resolve) => ws.once('ping', resolve));
    const appPong = new Promise<Buffer>((resolve) => appSide.once('pong', resolve));
    appSide.ping(Buffer.from('from-app'));
    expect((await clientPing).toString()).toBe('from-app');
    expect((await appPong).toString()).toBe('from-app');
    ws.close();
    await closed(ws);
  });

  it("carries the app's close code and reason to the client, and the client's to the app", async () => {
    let server = app.nextConnection();
    let ws = await openClient(`${url}/close`);
    let appSide = await server;
    const clientClosed = closed(ws);
    appSide.close(4001, 'app says bye');
    expect(await clientClosed).toEqual({ code: 4001, reason: 'app says bye' });

    server = app.nextConnection();
    ws = await openClient(`${url}/close`);
    appSide = await server;
    const appClosed = new Promise<[number, string]>((resolve) => appSide.once('close', (code, reason) => resolve([code, reason.toString()])));
    ws.close(4002, 'client says bye');
    expect(await appClosed).toEqual([4002, 'client says bye']);
    await closed(ws).catch(() => undefined);
  });

  it('hands path, query string, cookies and auth to the app unchanged, with X-Forwarded-For appended', async () => {
    const before = app.upgrades.length;
    const ws = await openClient(`${url}/room/42?token=abc&x=1`, undefined, {
      headers: { Cookie: 'session=s3cr3t; theme=dark', Authorization: 'Bearer t0k', 'X-Forwarded-For': '203.0.113.7' },
    });
    const req = app.upgrades[before]!;
    expect(req.url).toBe('/room/42?token=abc&x=1');
    expect(req.headers.cookie).toBe('session=s3cr3t; theme=dark');
    expect(req.headers.authorization).toBe('Bearer t0k');
    expect(req.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(req.headers['x-forwarded-proto']).toBe('http');
    ws.close();
    await closed(ws);
  });
});

describe('negotiation is the app’s', () => {
  it('negotiates the subprotocol the app picks', async () => {
    await withSidecar({ app: { wsOptions: { handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false) } } }, async ({ app, sidecar }) => {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`, ['chat.v1', 'chat.v2']);
      expect(ws.protocol).toBe('chat.v2');
      expect(app.upgrades[0]!.headers['sec-websocket-protocol']).toBe('chat.v1,chat.v2');
      ws.close();
      await closed(ws);
    });
  });

  it('negotiates permessage-deflate end to end; compressed messages arrive identical', async () => {
    await withSidecar({ app: { wsOptions: { perMessageDeflate: { threshold: 0 } } } }, async ({ sidecar }) => {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`, undefined, { perMessageDeflate: { threshold: 0 } });
      expect(ws.extensions).toContain('permessage-deflate');
      const text = 'compress me '.repeat(5000);
      const echoed = nextMessage(ws);
      ws.send(text);
      expect((await echoed).data.toString()).toBe(text);
      const metrics = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text();
      // What crossed the sidecar was compressed: far fewer payload bytes than the text.
      const bytes = Number(/ws_sidecar_bytes_total\{direction="client_to_upstream"\} (\d+)/.exec(metrics)![1]);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThan(text.length / 10);
      ws.close();
      await closed(ws);
    });
  });

  it("relays the app's refusal of the upgrade (401 with a body) as is", async () => {
    await withSidecar({ app: { wsOptions: { verifyClient: (_info, callback) => callback(false, 401, 'no ticket') } } }, async ({ sidecar }) => {
      const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const response = await new Promise<{ status: number; body: string }>((resolve) => {
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('error', () => undefined);
      });
      expect(response.status).toBe(401);
      expect(response.body).toBe('no ticket');
    });
  });
});

describe("the app's refusals, byte for byte", () => {
  it.each([
    ['chunked', (socket: Socket) => socket.write('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nX-Why: policy\r\n\r\n4\r\nnope\r\n0\r\n\r\n')],
    ['content-length', (socket: Socket) => socket.write('HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\nRetry-After: 7\r\n\r\nslow')],
  ])('relays a %s refusal from an app that keeps its connection open, then closes the client', async (_name, answer) => {
    // A raw app: it answers the upgrade and keeps the TCP connection (keep-alive).
    const appSockets: Socket[] = [];
    const app = createServer((socket) => {
      appSockets.push(socket);
      socket.once('data', () => answer(socket));
    }).listen(0, '127.0.0.1');
    await once(app, 'listening');
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${(app.address() as AddressInfo).port}`]);
    try {
      const { socket, head, rest } = await rawUpgrade(sidecar.dataPort);
      let body = rest.toString();
      socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
      await once(socket, 'close');
      expect(head).toMatch(/^HTTP\/1.1 (403 Forbidden|429 Too Many Requests)/);
      expect(head).toMatch(/X-Why: policy|Retry-After: 7/);
      expect(body === '4\r\nnope\r\n0\r\n\r\n' || body === 'slow').toBe(true);
    } finally {
      sidecar.kill();
      for (const socket of appSockets) socket.destroy();
      app.close();
    }
  });
});

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
