// The naive Node proxy the issue compares against: node-http-proxy with `ws: true`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';

const target = process.argv[2];
if (!target) throw new Error('usage: http-proxy-peer.ts <target url>');
const proxy = httpProxy.createProxyServer({ target, ws: true });
// Without this handler a peer's reset crashes the process (its known pipe() problem).
proxy.on('error', (_err, _req, res) => {
  if ('destroy' in res) res.destroy();
});
const server = createServer((req, res) => proxy.web(req, res));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
