// Plain HTTP requests on the data port go to the app over keep-alive
// connections, with X-Forwarded-* appended and hop-by-hop headers dropped.
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { formatAddress, type Address } from '../config/config.js';
import { hopByHopHeaders, withForwardedHeaders } from '../protocol/forwarded-headers.js';
import type { Logger } from '../config/logger.js';

export interface HttpForwardOptions {
  readonly upstream: Address;
  readonly connectTimeoutMs: number;
  /** While draining, every response carries `Connection: close`. */
  readonly closeConnections: () => boolean;
  readonly onResponse?: (statusCode: number) => void;
}

export type HttpForwarder = ((req: IncomingMessage, res: ServerResponse) => void) & { close(): void };

export function createHttpForwarder(options: HttpForwardOptions, logger: Logger): HttpForwarder {
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstreamReq = request({
      host: options.upstream.host,
      port: options.upstream.port,
      method: req.method,
      path: req.url,
      headers: withForwardedHeaders(req, true, formatAddress(options.upstream)) as unknown as Record<string, string>,
      setHost: false,
      agent,
      timeout: options.connectTimeoutMs,
    });
    upstreamReq.once('socket', (socket) => {
      // The timeout guards the connect only; an app may take its time to answer.
      if (socket.connecting) socket.once('connect', () => upstreamReq.setTimeout(0));
      else upstreamReq.setTimeout(0);
    });
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('connect to the app timed out')));
    upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
      const headers: string[] = [];
      const dropped = hopByHopHeaders(upstreamRes.rawHeaders);
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        if (!dropped.has(upstreamRes.rawHeaders[i]!.toLowerCase())) headers.push(upstreamRes.rawHeaders[i]!, upstreamRes.rawHeaders[i + 1]!);
      }
      if (options.closeConnections()) headers.push('Connection', 'close');
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, headers);
      options.onResponse?.(upstreamRes.statusCode ?? 502);
      pipeline(upstreamRes, res, (err) => {
        if (err) res.destroy();
      });
    });
    upstreamReq.on('error', (err) => {
      logger.warn({ err, method: req.method }, 'http forward failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({ error: 'upstream_unreachable' }) + '\n';
      res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
      options.onResponse?.(502);
    });
    // Not pipeline(): its teardown would destroy the client socket before a 502 is written.
    req.pipe(upstreamReq);
    req.on('error', () => upstreamReq.destroy());
    // A client gone mid-exchange aborts the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
  };
  return Object.assign(forward, { close: () => agent.destroy() });
}

