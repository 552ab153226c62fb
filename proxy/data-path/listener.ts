// The data port: upgrades are tunnelled, everything else forwarded as plain HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/config.js';

export interface DataHandlers {
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
}

export function createDataServer(config: Config, handlers: DataHandlers): Server {
  const server = createServer(
    {
      maxHeaderSize: config.maxHeaderSize,
      // Slow or incomplete request heads (slowloris) are cut here.
      headersTimeout: config.handshakeTimeoutMs,
      // Node checks that timeout on this interval (30 s by default): check often enough to honour it.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, config.handshakeTimeoutMs / 4)),
      requestTimeout: 0,
      keepAliveTimeout: 65_000,
    },
    handlers.onRequest,
  );
  server.on('upgrade', handlers.onUpgrade);
  return server;
}
