// The data port: a plain TCP server whose connections start in the bounded head
// reader. A WebSocket upgrade goes to the tunnel path straight from there; anything
// else is handed, bytes untouched, to a Node HTTP server that never listens itself
// and forwards plain HTTP (and upgrades later on a keep-alive connection). Other
// upgrade offers (h2c) are declined through a third server that takes no upgrades.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Config } from '../config/config.js';
import type { AcceptFailures } from './accept-failures.js';
import { expireSlowHead, readRequestHead, type HeadReaderHandlers, type HeadReaderOptions } from './head-reader.js';
import type { Lingering } from './linger.js';
import { HeadRequest, type UpgradeRequest } from './upgrade-request.js';

export interface DataHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: UpgradeRequest, socket: Socket, head: Buffer): void;
}

export interface DataListenerOptions {
  readonly acceptFailures: AcceptFailures;
  /** Connections the listener may hold (fd budget), or undefined for no cap. */
  readonly connectionBudget: number | undefined;
  /** Owner of the sockets answered without a tunnel (refused heads among them). */
  readonly lingering: Lingering;
}

export class DataListener {
  /** What listens on `--listen`. */
  readonly server: Server;
  private readonly http: HttpServer;
  /** Declined upgrade offers, re-parsed from their first byte: one exchange per connection. */
  private readonly plain: HttpServer;
  /** Sockets still reading their first head: the only ones nothing else would close at shutdown. */
  private readonly reading = new Set<Socket>();
  private readonly headOptions: HeadReaderOptions;
  private readonly headHandlers: HeadReaderHandlers;
  /** One sweep for every slow head (slowloris), as Node's HTTP server checks its own: no timer per connection. */
  private readonly sweep: NodeJS.Timeout;

  constructor(config: Config, handlers: DataHandlers, options: DataListenerOptions) {
    const httpOptions: ServerOptions = {
      maxHeaderSize: config.maxHeaderSize,
      // Later requests on a kept-alive connection: slow heads (slowloris) are cut here.
      headersTimeout: config.handshakeTimeoutMs,
      // Node checks that timeout on this interval (30 s by default): check often enough to honour it.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.handshakeTimeoutMs / 4)),
      requestTimeout: 0,
      keepAliveTimeout: 65_000,
    };
    this.http = createHttpServer(httpOptions, handlers.onRequest);
    this.http.on('upgrade', handlers.onUpgrade);
    // No 'upgrade' listener: Node parses an upgrade offer here as an ordinary request, body included.
    // One exchange per connection, so a later WebSocket upgrade on it goes through the data port again.
    this.plain = createHttpServer(httpOptions, (req, res) => {
      res.shouldKeepAlive = false;
      handlers.onRequest(req, res);
    });
    this.headOptions = { maxHeaderSize: config.maxHeaderSize, timeoutMs: config.handshakeTimeoutMs, lingering: options.lingering };
    this.headHandlers = {
      onWebSocketUpgrade: (head, socket, rest) => {
        this.reading.delete(socket);
        handlers.onUpgrade(new HeadRequest(head, socket), socket, rest);
      },
      onOtherRequest: (socket, bytes) => {
        this.reading.delete(socket);
        socket.unshift(bytes);
        this.http.emit('connection', socket);
        socket.resume();
      },
      onRefused: (socket) => this.reading.delete(socket),
      onAbandoned: (socket) => this.reading.delete(socket),
    };
    // Half-open client sockets as Node's HTTP server has them: a peer's FIN does not end our side.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
    const { acceptFailures, connectionBudget } = options;
    if (connectionBudget !== undefined) this.server.maxConnections = connectionBudget;
    this.server.on('drop', () => acceptFailures.record('fd_limit'));
    // An accept error (EMFILE where libuv could not absorb it, ENFILE, ENOMEM) is survived: the listener stays.
    this.server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall === 'accept') acceptFailures.record('error', err);
    });
    this.sweep = setInterval(this.expireSlowHeads, Math.max(100, Math.min(1000, config.handshakeTimeoutMs / 4)));
    this.sweep.unref();
  }

  /**
   * Turns a non-WebSocket upgrade offer (e.g. h2c) back into a plain request: the
   * connection is re-parsed from its first byte by a server that takes no upgrades,
   * so a body (Content-Length or chunked) reaches the app as it would without the offer.
   */
  readonly declineUpgrade = (req: UpgradeRequest, socket: Socket, head: Buffer): void => {
    socket.unshift(Buffer.concat([requestHeadOf(req), head]));
    this.plain.emit('connection', socket);
  };

  private readonly expireSlowHeads = (): void => {
    const now = performance.now();
    // Refused sockets leave the set; deleting while iterating a Set is safe.
    for (const socket of this.reading) if (expireSlowHead(socket, now)) this.reading.delete(socket);
  };

  private readonly onConnection = (socket: Socket): void => {
    this.reading.add(socket);
    readRequestHead(socket, this.headOptions, this.headHandlers);
  };

  /** Stops listening and closes what is still open (tunnels are the registry's, answered sockets the lingering's). */
  close(): Promise<void> {
    clearInterval(this.sweep);
    for (const socket of this.reading) socket.destroy();
    this.reading.clear();
    this.plain.closeAllConnections();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}

/** The request head as the client sent it (header values are latin1 strings of its bytes). */
function requestHeadOf(req: UpgradeRequest): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(head + '\r\n', 'latin1');
}
