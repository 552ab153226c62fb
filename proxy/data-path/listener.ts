// The data port: upgrades are tunnelled, everything else forwarded as plain HTTP.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/config.js';
import type { AcceptFailures } from './accept-failures.js';

export interface DataHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
}

export interface DataServer {
  /** Listens on --listen. */
  readonly server: Server;
  /**
   * Turns a non-WebSocket upgrade offer (e.g. h2c) back into a plain request: the
   * connection is re-parsed from its first byte by a server that takes no upgrades,
   * so a body (Content-Length or chunked) reaches the app as it would without the offer.
   */
  declineUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Destroys the connections of declined upgrades still open. */
  closeDeclined(): void;
}

export function createDataServer(config: Config, handlers: DataHandlers, acceptFailures: AcceptFailures, connectionBudget: number | undefined): DataServer {
  const options: ServerOptions = {
    maxHeaderSize: config.maxHeaderSize,
    // Slow or incomplete request heads (slowloris) are cut here.
    headersTimeout: config.handshakeTimeoutMs,
    // Node checks that timeout on this interval (30 s by default): check often enough to honour it.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, config.handshakeTimeoutMs / 4)),
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
  };
  const server = createServer(options, handlers.onRequest);
  server.on('upgrade', handlers.onUpgrade);
  if (connectionBudget !== undefined) server.maxConnections = connectionBudget;
  server.on('drop', () => acceptFailures.record('fd_limit'));
  // An accept error (EMFILE where libuv could not absorb it, ENFILE, ENOMEM) is survived: the listener stays.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept') acceptFailures.record('error', err);
  });
  // No 'upgrade' listener: Node parses an upgrade offer here as an ordinary request, body included.
  // One exchange per connection, so a later WebSocket upgrade on it goes through the data server.
  const plain = createServer(options, (req, res) => {
    res.shouldKeepAlive = false;
    handlers.onRequest(req, res);
  });
  return {
    server,
    declineUpgrade(req, socket, head) {
      socket.unshift(Buffer.concat([requestHeadOf(req), head]));
      plain.emit('connection', socket);
    },
    closeDeclined: () => plain.closeAllConnections(),
  };
}

/** The request head as the client sent it (header values are latin1 strings of its bytes). */
function requestHeadOf(req: IncomingMessage): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(head + '\r\n', 'latin1');
}
