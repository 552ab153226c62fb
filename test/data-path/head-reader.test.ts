// The bounded head reader on real sockets: heads split at every byte boundary,
// pipelined bytes kept, garbage and oversize refused, slow heads cut.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { expireSlowHead, readRequestHead, type HeadReaderOptions } from '../../proxy/data-path/head-reader.js';
import { Lingering } from '../../proxy/data-path/linger.js';
import type { RequestHead } from '../../proxy/protocol/request-head.js';

type Outcome =
  | { kind: 'upgrade'; head: RequestHead; rest: Buffer; socket: Socket }
  | { kind: 'other'; bytes: Buffer; socket: Socket }
  | { kind: 'refused'; status: number; reason: string; socket: Socket };

const UPGRADE = 'GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
const FRAME = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x21 ^ 2]);

let server: Server | undefined;
let sweep: NodeJS.Timeout | undefined;
const lingering = new Lingering();
const opened: Socket[] = [];
afterEach(async () => {
  clearInterval(sweep);
  lingering.destroyAll();
  for (const socket of opened.splice(0)) socket.destroy();
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

/** A server whose connections go through the head reader; each outcome is queued. */
async function startReader(options: Partial<HeadReaderOptions> = {}): Promise<{ port: number; next(): Promise<Outcome>; received(n: number): Promise<void> }> {
  const outcomes: Outcome[] = [];
  const waiting: Array<(outcome: Outcome) => void> = [];
  const push = (outcome: Outcome): void => {
    opened.push(outcome.socket);
    const waiter = waiting.shift();
    if (waiter) waiter(outcome);
    else outcomes.push(outcome);
  };
  let bytesIn = 0;
  const byteWaiters: Array<{ n: number; resolve: () => void }> = [];
  server = createServer({ allowHalfOpen: true }, (socket) => {
    opened.push(socket);
    // Seen before the reader's own listener: lets a test wait until a piece has arrived.
    socket.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
      for (const waiter of byteWaiters.splice(0)) {
        if (bytesIn >= waiter.n) waiter.resolve();
        else byteWaiters.push(waiter);
      }
    });
    readRequestHead(
      socket,
      { maxHeaderSize: 1024, timeoutMs: 10_000, lingering, ...options },
      {
        onWebSocketUpgrade: (head, s, rest) => push({ kind: 'upgrade', head, rest: Buffer.from(rest), socket: s }),
        onOtherRequest: (s, bytes) => push({ kind: 'other', bytes: Buffer.from(bytes), socket: s }),
        onRefused: (s, status, reason) => push({ kind: 'refused', status, reason, socket: s }),
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // The owner's sweep for slow heads, as the data listener runs it.
  sweep = setInterval(() => {
    for (const socket of opened) expireSlowHead(socket, performance.now());
  }, 20);
  return {
    port: (server.address() as AddressInfo).port,
    next: () => (outcomes.length > 0 ? Promise.resolve(outcomes.shift()!) : new Promise((resolve) => waiting.push(resolve))),
    received: (n) => (bytesIn >= n ? Promise.resolve() : new Promise((resolve) => byteWaiters.push({ n, resolve }))),
  };
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  opened.push(socket);
  await once(socket, 'connect');
  return socket;
}

async function answerOf(socket: Socket): Promise<string> {
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  await once(socket, 'end');
  return answer;
}

describe('readRequestHead', () => {
  it('reads a WebSocket upgrade split at every byte boundary, pipelined frame bytes kept', async () => {
    const reader = await startReader();
    const bytes = Buffer.concat([Buffer.from(UPGRADE, 'latin1'), FRAME]);
    let total = 0;
    for (let cut = 1; cut < bytes.length; cut++) {
      const socket = await client(reader.port);
      socket.write(bytes.subarray(0, cut));
      // The second piece goes only once the first has been read on its own.
      await reader.received(total + cut);
      socket.write(bytes.subarray(cut));
      total += bytes.length;
      const outcome = await reader.next();
      if (outcome.kind !== 'upgrade') throw new Error(`cut ${cut}: ${outcome.kind}`);
      // A cut inside the frame may leave its tail in the socket: read it as the tunnel would.
      let rest = outcome.rest;
      if (rest.length < FRAME.length) {
        outcome.socket.on('data', (chunk: Buffer) => (rest = Buffer.concat([rest, chunk])));
        outcome.socket.resume();
        await reader.received(total);
        while (rest.length < FRAME.length) await once(outcome.socket, 'data');
      }
      expect(outcome.head.url).toBe('/chat');
      expect(outcome.head.headers['sec-websocket-key']).toBe('dGhlIHNhbXBsZSBub25jZQ==');
      expect(rest.equals(FRAME), `cut ${cut}`).toBe(true);
      socket.destroy();
      outcome.socket.destroy();
    }
  });

  it.each([
    ['plain HTTP', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a POST with a body', 'POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'],
    ['an h2c upgrade offer', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n'],
    ['a WebSocket upgrade over HTTP/1.0', 'GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
    ['a WebSocket upgrade without Connection: upgrade', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n'],
    ['a WebSocket upgrade with a body', 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a WebSocket upgrade with two Hosts', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
  ])('hands %s on, every byte read so far included', async (_name, text) => {
    const reader = await startReader();
    const socket = await client(reader.port);
    socket.write(text);
    await reader.received(text.length);
    const outcome = await reader.next();
    expect(outcome.kind).toBe('other');
    if (outcome.kind === 'other') expect(outcome.bytes.toString('latin1')).toBe(text);
  });

  it.each([
    ['TLS', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), 400],
    ['a bare LF', Buffer.from('GET / HTTP/1.1\nHost: x\n\n'), 400],
    ['obs-fold', Buffer.from('GET / HTTP/1.1\r\nX: 1\r\n 2\r\n\r\n'), 400],
    ['a NUL in a header', Buffer.from('GET / HTTP/1.1\r\nX: a\0b\r\n\r\n'), 400],
    ['a head over the limit with no end', Buffer.from('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(1100)), 431],
    ['a complete head over the limit', Buffer.from('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(1100) + '\r\n\r\n'), 431],
  ])('refuses %s with %s and closes', async (_name, bytes, status) => {
    const reader = await startReader();
    const socket = await client(reader.port);
    const answer = answerOf(socket);
    socket.write(bytes);
    const outcome = await reader.next();
    expect(outcome.kind === 'refused' && outcome.status).toBe(status);
    expect(await answer).toMatch(new RegExp(`^HTTP/1.1 ${status} [^\\r]+\\r\\nConnection: close\\r\\n`));
  });

  it('answers 408 to a head not complete in time, and destroys the socket after the linger', async () => {
    const reader = await startReader({ timeoutMs: 100 });
    const socket = await client(reader.port);
    const answer = answerOf(socket);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const outcome = await reader.next();
    expect(outcome.kind === 'refused' && outcome.status).toBe(408);
    expect(await answer).toMatch(/^HTTP\/1.1 408 /);
    // The client keeps its half open; the server side goes anyway, held by the linger until then.
    expect(lingering.size).toBe(1);
    await once(outcome.socket, 'close');
    expect(lingering.size).toBe(0);
    expect(socket.destroyed).toBe(false);
  });

  it('lets a client that resets mid-head go without an answer or an unhandled error', async () => {
    const reader = await startReader();
    const socket = await client(reader.port);
    socket.write('GET / HTTP/1.1\r\n');
    await reader.received(16);
    socket.resetAndDestroy();
    // Nothing is handed on; the next connection is served as usual.
    const next = await client(reader.port);
    next.write(UPGRADE);
    expect((await reader.next()).kind).toBe('upgrade');
  });
});
