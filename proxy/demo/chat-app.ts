// The demo app: a tiny chat (one HTML page + a broadcasting WebSocket, rooms by `?room=`).
// It knows nothing of the sidecar; the sidecar fronts it unchanged. A client alone in its room
// gets its own messages back: the rollout demo's clients read that as the acknowledgement.
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
  const rooms = new Map<string, Set<WebSocket>>();
  let nextId = 1;
  wss.on('connection', (ws, req) => {
    const name = `guest-${nextId++}`;
    const roomName = new URL(req.url ?? '/', 'http://chat').searchParams.get('room') ?? 'lobby';
    const room = rooms.get(roomName) ?? new Set<WebSocket>();
    rooms.set(roomName, room.add(ws));
    ws.on('close', () => {
      room.delete(ws);
      if (room.size === 0) rooms.delete(roomName);
    });
    const broadcast = (text: string): void => {
      for (const peer of room) if (peer.readyState === WebSocket.OPEN) peer.send(text);
    };
    ws.on('error', () => ws.terminate());
    ws.send(JSON.stringify({ from: 'server', text: `welcome, ${name} (${room.size} in ${roomName})` }));
    ws.on('message', (data) => broadcast(JSON.stringify({ from: name, text: String(data).slice(0, 500) })));
  });
  return server;
}
