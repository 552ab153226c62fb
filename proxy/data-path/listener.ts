// The data port: a plain TCP server whose connections start in the bounded head
// reader. A WebSocket upgrade goes to the tunnel path straight from there; anything
// else is handed, bytes untouched, to a Node HTTP server that never listens itself
// and forwards plain HTTP (and upgrades later on a keep-alive connection).
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { Config } from '../config/config.js';
import { expireSlowHead, readRequestHead, type HeadReaderHandlers, type HeadReaderOptions } from './head-reader.js';
import { HeadRequest, type UpgradeRequest } from './upgrade-request.js';

export interface DataHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: UpgradeRequest, socket: Socket, head: Buffer): void;
}

/** How long a refused socket may stay open for its peer to read our answer and close. */
const REFUSAL_LINGER_MS = 2000;

export class DataListener {
  /** What listens on `--listen`. */
  readonly server: Server;
  private readonly http: HttpServer;
  /** Sockets still reading their first head: the only ones nothing else would close at shutdown. */
  private readonly reading = new Set<Socket>();
  private readonly headOptions: HeadReaderOptions;
  private readonly headHandlers: HeadReaderHandlers;
  /** One sweep for every slow head (slowloris), as Node's HTTP server checks its own: no timer per connection. */
  private readonly sweep: NodeJS.Timeout;

  constructor(config: Config, handlers: DataHandlers) {
    this.http = createHttpServer(
      {
        maxHeaderSize: config.maxHeaderSize,
        // Later requests on a kept-alive connection: slow heads (slowloris) are cut here.
        headersTimeout: config.handshakeTimeoutMs,
        // Node checks that timeout on this interval (30 s by default): check often enough to honour it.
        connectionsCheckingInterval: Math.max(100, Math.min(1000, config.handshakeTimeoutMs / 4)),
        requestTimeout: 0,
        keepAliveTimeout: 65_000,
      },
      handlers.onRequest,
    );
    this.http.on('upgrade', handlers.onUpgrade);
    this.headOptions = { maxHeaderSize: config.maxHeaderSize, timeoutMs: config.handshakeTimeoutMs, lingerMs: Math.min(REFUSAL_LINGER_MS, config.handshakeTimeoutMs) };
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
    this.sweep = setInterval(this.expireSlowHeads, Math.max(100, Math.min(1000, config.handshakeTimeoutMs / 4)));
    this.sweep.unref();
  }

  private readonly expireSlowHeads = (): void => {
    const now = performance.now();
    // Refused sockets leave the set; deleting while iterating a Set is safe.
    for (const socket of this.reading) if (expireSlowHead(socket, now)) this.reading.delete(socket);
  };

  private readonly onConnection = (socket: Socket): void => {
    this.reading.add(socket);
    readRequestHead(socket, this.headOptions, this.headHandlers);
  };

  /** Stops listening and closes what is still open (tunnels are the registry's). */
  close(): Promise<void> {
    clearInterval(this.sweep);
    for (const socket of this.reading) socket.destroy();
    this.reading.clear();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}
