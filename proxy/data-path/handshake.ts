// The upstream half of a WebSocket upgrade, on a plain TCP socket: the client's
// request head goes to the app as is (plus X-Forwarded-*), and the app's answer
// comes back byte for byte. A 101 hands both sockets to a tunnel; any other
// answer is relayed to its end and the client connection closed. No HTTP client
// objects are made, and nothing of the handshake stays attached to the sockets.
import { connect, type Socket } from 'node:net';
import type { Address } from '../config/config.js';
import { withForwardedHeaders } from '../protocol/forwarded-headers.js';
import { responseEndOf, type ResponseEnd } from '../protocol/response-end.js';
import type { UpgradeRequest } from './upgrade-request.js';

export type HandshakeOutcome =
  | { kind: 'upgraded'; upstream: Socket; upstreamHead: Buffer; durationMs: number }
  | { kind: 'refused'; statusCode: number } // the app answered with a non-101
  | { kind: 'failed'; error: Error } // connect error, reset, garbage or timeout: no usable answer
  | { kind: 'client-gone' };

export interface HandshakeOptions {
  readonly upstream: Address;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxHeaderSize: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export function forwardUpgrade(req: UpgradeRequest, client: Socket, options: HandshakeOptions, done: (outcome: HandshakeOutcome) => void): void {
  const startedAt = performance.now();
  const upstream = connect({ host: options.upstream.host, port: options.upstream.port });
  let received: Buffer | undefined;
  let settled = false;

  const settle = (outcome: HandshakeOutcome): void => {
    settled = true;
    clearTimeout(connectTimer);
    clearTimeout(answerTimer);
    upstream.off('data', onData).off('error', onFailure).off('close', onEarlyClose);
    client.off('close', onClientGone).off('end', onClientGone);
    done(outcome);
  };
  const onFailure = (error: Error): void => {
    if (settled) return;
    upstream.destroy();
    settle({ kind: 'failed', error });
  };
  const onEarlyClose = (): void => onFailure(new Error('the app closed the connection before answering the upgrade'));
  const onClientGone = (): void => {
    upstream.destroy();
    settle({ kind: 'client-gone' });
  };
  const connectTimer = setTimeout(() => {
    if (upstream.connecting) onFailure(new Error(`connect to the app timed out after ${options.connectTimeoutMs} ms`));
  }, options.connectTimeoutMs);
  const answerTimer = setTimeout(() => onFailure(new Error(`the app did not answer the upgrade within ${options.handshakeTimeoutMs} ms`)), options.handshakeTimeoutMs);

  const onData = (chunk: Buffer): void => {
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    const end = received.indexOf(HEAD_END);
    if (end < 0) {
      if (received.length > options.maxHeaderSize) onFailure(new Error('the app answered with an oversized response head'));
      return;
    }
    const head = received.subarray(0, end + HEAD_END.length);
    const rest = received.subarray(end + HEAD_END.length);
    const parsed = parseResponseHead(head);
    if (!parsed) return onFailure(new Error('the app answered the upgrade with something other than HTTP/1.x'));
    // Paused so no byte is emitted between our listener going and the next owner's coming.
    upstream.pause();
    client.write(head);
    if (parsed.statusCode === 101) {
      settle({ kind: 'upgraded', upstream, upstreamHead: rest, durationMs: performance.now() - startedAt });
    } else {
      settle({ kind: 'refused', statusCode: parsed.statusCode });
      relayRefusal(upstream, client, rest, responseEndOf(parsed.statusCode, parsed.headers));
    }
  };

  upstream.on('data', onData).on('error', onFailure).on('close', onEarlyClose);
  // Client sockets are half-open capable: a FIN alone ('end', no 'close') also means gone.
  client.on('close', onClientGone).on('end', onClientGone);
  upstream.write(requestHead(req), 'latin1');
}

/** Header values arrive latin1-decoded: written back as latin1 they are the client's bytes. */
function requestHead(req: UpgradeRequest): string {
  const headers = withForwardedHeaders(req, false);
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + '\r\n';
}

function parseResponseHead(head: Buffer): { statusCode: number; headers: Map<string, string> } | undefined {
  const lines = head.toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
  if (!status) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { statusCode: Number(status[1]), headers };
}

/** The rest of a refusal (its body) goes to the client as is; then both connections close. */
function relayRefusal(upstream: Socket, client: Socket, first: Buffer, end: ResponseEnd): void {
  const finish = (): void => {
    upstream.destroy();
    client.end();
  };
  const forward = (chunk: Buffer): void => {
    const take = end.feed(chunk);
    if (take > 0 && !client.write(take === chunk.length ? chunk : chunk.subarray(0, take))) upstream.pause();
    if (end.done) finish();
  };
  forward(first);
  if (end.done) return;
  client.on('drain', () => upstream.resume());
  client.on('close', () => upstream.destroy());
  upstream.on('data', forward).on('end', finish).on('error', () => client.destroy());
  upstream.resume();
}
