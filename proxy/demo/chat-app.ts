// The demo app: a tiny chat room (one HTML page + a broadcasting WebSocket).
// It knows nothing of the sidecar; the sidecar fronts it unchanged.
import { createServer, type Server } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { CHAT_PAGE } from './chat-page.js';

export function createChatApp(): Server {
  const server = createServer((req, res) => {
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(CHAT_PAGE);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  });
  const wss = new WebSocketServer({ server, path: '/chat' });
  let nextId = 1;
  wss.on('connection', (ws) => {
    const name = `guest-${nextId++}`;
    const broadcast = (text: string): void => {
      for (const peer of wss.clients) if (peer.readyState === WebSocket.OPEN) peer.send(text);
    };
    ws.on('error', () => ws.terminate());
    ws.send(JSON.stringify({ from: 'server', text: `welcome, ${name} (${wss.clients.size} online)` }));
    ws.on('message', (data) => broadcast(JSON.stringify({ from: name, text: String(data).slice(0, 500) })));
  });
  return server;
}
