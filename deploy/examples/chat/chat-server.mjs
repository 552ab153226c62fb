// The example's app: a chat room where every message goes to every client. It knows nothing
// of the sidecar; caps, metrics and polite drains happen in front of it. Runs on the
// ws-sidecar image, whose /app/node_modules has `ws`.
import { createServer } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

// The page reconnects after the delay the sidecar's close reason suggests ("delay_ms=1830").
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>ws-sidecar chat</title>
<pre id="log"></pre><form id="f"><input id="m" autocomplete="off" autofocus><button>send</button></form>
<script>
const log = (line) => (document.getElementById('log').textContent += line + '\\n');
let ws;
function connect() {
  ws = new WebSocket(location.href.replace(/^http/, 'ws').replace(/\\/?$/, '') + '/chat');
  ws.onopen = () => log('* connected');
  ws.onmessage = (event) => log(event.data);
  ws.onclose = (event) => {
    const hint = /delay_ms=(\\d+)/.exec(event.reason);
    const delay = hint ? Number(hint[1]) : 1000 + Math.random() * 4000;
    log('* closed ' + event.code + ' ' + event.reason + '; reconnecting in ' + Math.round(delay) + ' ms');
    setTimeout(connect, delay);
  };
}
connect();
document.getElementById('f').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('m');
  if (ws.readyState === WebSocket.OPEN && input.value) ws.send(input.value);
  input.value = '';
};
</script>
`;

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(PAGE);
});

const wss = new WebSocketServer({ server, path: '/chat', maxPayload: 16 * 1024 });
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(JSON.stringify({ msg: 'chat listening', port: server.address().port }));
});
// By the time the kubelet sends SIGTERM, the preStop hook has let the sidecar hand every client off.
process.on('SIGTERM', () => {
  wss.close();
  server.close(() => process.exit(0));
});
