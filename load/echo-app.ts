// The app behind every peer: a plain `ws` echo server in its own process. An
// echo is also the acknowledgement of a numbered message in the rollout. No
// SIGTERM handler on purpose: like many apps, it dies at once when signalled.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const server = createServer((_req, res) => res.end('echo app\n'));
const wss = new WebSocketServer({ server, clientTracking: false, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
