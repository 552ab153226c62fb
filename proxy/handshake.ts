// The upstream half of a WebSocket upgrade: the client's request goes to the app
// as is (plus X-Forwarded-*); the app's answer comes back as is. A 101 starts a
// tunnel; anything else is relayed and the connection closed.
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Address } from './config.js';
import { withForwardedHeaders } from './forwarded-headers.js';

export type HandshakeOutcome =
  | { kind: 'upgraded'; upstream: Socket; upstreamHead: Buffer; durationMs: number }
  | { kind: 'refused'; statusCode: number } // the app answered with a non-101
  | { kind: 'failed'; error: Error } // connect error, reset or timeout: no answer from the app
  | { kind: 'client-gone' };

export interface HandshakeOptions {
  readonly upstream: Address;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}

/**
 * Sends the upgrade request to the app. On a 101 the app's response head is
 * written to the client and the caller gets the upstream socket; on any other
 * answer the response is relayed to the client here.
 */
export function forwardUpgrade(
  req: IncomingMessage,
  client: Socket,
  options: HandshakeOptions,
  done: (outcome: HandshakeOutcome) => void,
): void {
  const startedAt = performance.now();
  let settled = false;
  const settle = (outcome: HandshakeOutcome): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    client.off('close', onClientGone);
    done(outcome);
  };
  const upstreamReq = request({
    host: options.upstream.host,
    port: options.upstream.port,
    method: req.method,
    path: req.url,
    headers: withForwardedHeaders(req, false) as unknown as Record<string, string>,
    setHost: false,
    agent: false,
  });
  const timer = setTimeout(() => {
    upstreamReq.destroy(new Error(`the app did not answer the upgrade within ${options.handshakeTimeoutMs} ms`));
  }, options.handshakeTimeoutMs);
  upstreamReq.on('socket', (socket: Socket) => {
    socket.setTimeout(options.connectTimeoutMs, () => {
      if (socket.connecting) upstreamReq.destroy(new Error(`connect to the app timed out after ${options.connectTimeoutMs} ms`));
    });
    socket.once('connect', () => socket.setTimeout(0));
  });
  const onClientGone = (): void => {
    upstreamReq.destroy();
    settle({ kind: 'client-gone' });
  };
  client.on('close', onClientGone);

  upstreamReq.on('upgrade', (res: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
    if (settled || client.destroyed) {
      upstream.destroy();
      settle({ kind: 'client-gone' });
      return;
    }
    client.write(responseHead(res, res.rawHeaders));
    settle({ kind: 'upgraded', upstream, upstreamHead, durationMs: performance.now() - startedAt });
  });

  upstreamReq.on('response', (res: IncomingMessage) => {
    // A refusal (401, 403, 404...) reaches the client as the app sent it; the
    // body is delimited by closing the connection, so chunked framing is dropped.
    const headers: string[] = [];
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      const lower = res.rawHeaders[i]!.toLowerCase();
      if (lower !== 'transfer-encoding' && lower !== 'connection') headers.push(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    }
    headers.push('Connection', 'close');
    client.write(responseHead(res, headers));
    pipeline(res, client, () => client.destroy());
    settle({ kind: 'refused', statusCode: res.statusCode ?? 0 });
  });

  upstreamReq.on('error', (error: Error) => settle({ kind: 'failed', error }));
  upstreamReq.end();
}

function responseHead(res: IncomingMessage, rawHeaders: readonly string[]): string {
  let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return head + '\r\n';
}
