// A real streaming app: every connection that sends the text "stream" gets 16 KiB
// binary messages as fast as its socket takes them (until it sends "stop") (the app's own queue per socket
// is bounded by ws's bufferedAmount, so a client that stops reading backs the stream
// up into whatever proxy is in between). Any other message is echoed, so a client
// that reads can prove its messages still flow. Used by load/slow-readers.ts (in its
// own process, via load/stream-app.ts) and by the memory e2e test (in process).
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const STREAM_MESSAGE_BYTES = 16 * 1024;
export const START_STREAM = 'stream';
/** Ends the stream to that connection; the echo of a later message then proves everything before it arrived. */
export const STOP_STREAM = 'stop';
/** The app stops sending to a socket while this much is queued in it. */
const APP_QUEUE_BYTES = 256 * 1024;
/** At most this many messages per socket per tick: the kernel takes writes at once until its buffers are full. */
const PER_TICK = 4;
const TICK_MS = 10;

export interface StreamAppStats {
  /** Connections open now. */
  readonly connections: number;
  /** Connections being streamed to. */
  readonly streaming: number;
  /** Bytes handed to the kernel so far (sent minus what ws still queues): stops growing once every stream has stalled. */
  readonly deliveredBytes: number;
}

export interface StreamApp {
  readonly port: number;
  readonly server: Server;
  stats(): StreamAppStats;
  close(): Promise<void>;
}

export interface StallOptions {
  /** How far apart the readings are. */
  readonly everyMs: number;
  /** Readings in a row with no byte delivered (2 by default). */
  readonly readings?: number;
  /** When given, also wait until this many connections are being streamed to. */
  readonly streaming?: number;
  /** Throws past this, naming `what` and the last stats. */
  readonly withinMs: number;
  readonly what?: string;
}

/**
 * Resolves once every stream has stalled: the app's delivered bytes did not move for
 * `readings` readings in a row (after the first). `stats` may come from another process.
 */
export async function untilStalled(stats: () => StreamAppStats | Promise<StreamAppStats>, options: StallOptions): Promise<StreamAppStats> {
  const started = Date.now();
  const readings = options.readings ?? 2;
  let last = -1;
  let still = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
    const now = await stats();
    const streaming = options.streaming === undefined || now.streaming === options.streaming;
    still = streaming && now.deliveredBytes === last ? still + 1 : 0;
    if (still === readings) return now;
    last = now.deliveredBytes;
    if (Date.now() - started > options.withinMs) throw new Error(`${options.what ?? 'streams'}: still moving after ${options.withinMs} ms (${JSON.stringify(now)})`);
  }
}

export async function startStreamApp(): Promise<StreamApp> {
  const message = Buffer.alloc(STREAM_MESSAGE_BYTES, 0x5a);
  // GET / answers the stats as JSON: the load scenario reads them from another process.
  const server = createServer((_req, res) => res.end(JSON.stringify(stats())));
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  const streaming = new Set<WebSocket>();
  let sentBytes = 0;
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? undefined : data.toString();
      if (text === START_STREAM) streaming.add(ws);
      else if (text === STOP_STREAM) streaming.delete(ws);
      else ws.send(data as Buffer, { binary: isBinary });
    });
    ws.on('close', () => streaming.delete(ws));
  });
  const stats = (): StreamAppStats => {
    let queued = 0;
    for (const ws of streaming) queued += ws.bufferedAmount;
    return { connections: wss.clients.size, streaming: streaming.size, deliveredBytes: sentBytes - queued };
  };
  const timer = setInterval(() => {
    for (const ws of streaming) {
      for (let i = 0; i < PER_TICK && ws.readyState === ws.OPEN && ws.bufferedAmount < APP_QUEUE_BYTES; i++) {
        ws.send(message, { binary: true });
        sentBytes += message.length;
      }
    }
  }, TICK_MS);
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    stats,
    async close() {
      clearInterval(timer);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
