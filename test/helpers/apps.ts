// Real WebSocket apps on 127.0.0.1:0 for the sidecar to front.
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { WebSocketServer, WebSocket, type ServerOptions } from 'ws';

export interface TestApp {
  readonly port: number;
  readonly server: Server;
  readonly wss: WebSocketServer;
  /** Every upgrade request the app saw, in order. */
  readonly upgrades: IncomingMessage[];
  /** Every server-side socket, in order of connection. */
  readonly sockets: WebSocket[];
  /** Resolves with the next server-side socket. */
  nextConnection(): Promise<WebSocket>;
  close(): Promise<void>;
}

/**
 * An app that echoes every message with the same type unless `onConnection` is
 * given. Plain HTTP requests get `httpHandler` or a JSON echo of what was asked.
 */
export async function startApp(
  options: {
    wsOptions?: Omit<ServerOptions, 'server' | 'port' | 'noServer'>;
    onConnection?: (ws: WebSocket, req: IncomingMessage) => void;
    httpHandler?: RequestListener;
  } = {},
): Promise<TestApp> {
  const echoHttp: RequestListener = (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(body);
        });
      };
  const server = createServer(options.httpHandler ?? echoHttp);
  const wss = new WebSocketServer({ server, ...options.wsOptions });
  const upgrades: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  const waiting: Array<(ws: WebSocket) => void> = [];
  wss.on('connection', (ws, req) => {
    upgrades.push(req);
    sockets.push(ws);
    ws.on('error', () => undefined);
    if (options.onConnection) options.onConnection(ws, req);
    else ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    waiting.shift()?.(ws);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    wss,
    upgrades,
    sockets,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a `ws` client and waits for 'open' (rejects on an unexpected response). */
export async function openClient(url: string, protocols?: string | string[], options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
  return ws;
}

/** Waits for a client's close event: the code and reason it received. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}
