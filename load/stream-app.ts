// The app of the slow-readers scenario: streams 16 KiB binary messages to every
// client as fast as its socket takes them (ws's bufferedAmount bounds the app's
// own memory), so a client that stops reading backs the stream up into the proxy.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const MESSAGE = Buffer.alloc(16 * 1024, 0x5a);
/** The app stops sending to a socket while this much is queued in it. */
const APP_QUEUE_BYTES = 256 * 1024;

const server = createServer((_req, res) => res.end('stream app\n'));
const wss = new WebSocketServer({ server, clientTracking: false, perMessageDeflate: false });
const streaming = new Set<WebSocket>();
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  // An echo, so a client that reads can prove its messages still flow.
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  streaming.add(ws);
  ws.on('close', () => streaming.delete(ws));
});
setInterval(() => {
  for (const ws of streaming) {
    while (ws.readyState === ws.OPEN && ws.bufferedAmount < APP_QUEUE_BYTES) ws.send(MESSAGE, { binary: true });
  }
}, 20);
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
