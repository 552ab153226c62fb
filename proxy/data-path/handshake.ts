// The upstream half of a WebSocket upgrade, on a plain TCP socket: the client's
// request head goes to the app as is (plus X-Forwarded-*), and the app's answer
// comes back byte for byte. A 101 hands both sockets to a tunnel; any other
// answer is relayed to its end and the client connection closed. No HTTP client
// objects are made, and nothing of the handshake stays attached to the sockets.
import type { Socket } from 'node:net';
import type { Address } from '../config/config.js';
import { forwardedUpgradeHead } from '../protocol/forwarded-headers.js';
import { responseEndOf, type ResponseEnd } from '../protocol/response-end.js';
import type { UpgradeRequest } from './upgrade-request.js';
import { connectBounded, onChunks } from './bounded-reads.js';

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
  // Bounded reads (bounded-reads.ts): the app→client direction holds at most one 16 KiB read.
  const upstream = connectBounded(options.upstream.host, options.upstream.port);
  let stopReading = (): void => undefined;
  let received: Buffer | undefined;
  let settled = false;

  const settle = (outcome: HandshakeOutcome): void => {
    settled = true;
    clearTimeout(timer);
    stopReading();
    upstream.off('error', onFailure).off('close', onEarlyClose);
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
  // One timer for both limits: it first fires at the connect timeout, and if the
  // connection is up by then a second one covers what is left of the handshake timeout.
  // Almost every handshake ends long before either, so only one timer is ever made.
  const answerTimeout = (): void => onFailure(new Error(`the app did not answer the upgrade within ${options.handshakeTimeoutMs} ms`));
  let timer = setTimeout(() => {
    if (upstream.connecting) return onFailure(new Error(`connect to the app timed out after ${options.connectTimeoutMs} ms`));
    const leftMs = options.handshakeTimeoutMs - (performance.now() - startedAt);
    if (leftMs <= 0) answerTimeout();
    else timer = setTimeout(answerTimeout, leftMs);
  }, Math.min(options.connectTimeoutMs, options.handshakeTimeoutMs));

  const onData = (chunk: Buffer): void => {
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    // Interim answers (103 Early Hints, 100 Continue…) are relayed and the final one awaited.
    for (;;) {
      const end = received.indexOf(HEAD_END);
      if (end < 0) {
        if (received.length > options.maxHeaderSize) onFailure(new Error('the app answered with an oversized response head'));
        return;
      }
      const head = received.subarray(0, end + HEAD_END.length);
      const rest = received.subarray(end + HEAD_END.length);
      const statusCode = statusCodeOf(head);
      if (statusCode < 0) return onFailure(new Error('the app answered the upgrade with something other than HTTP/1.x'));
      if (statusCode < 200 && statusCode !== 101) {
        client.write(head);
        received = rest;
        continue;
      }
      // Paused so no byte is emitted between our listener going and the next owner's coming.
      upstream.pause();
      client.write(head);
      if (statusCode === 101) {
        settle({ kind: 'upgraded', upstream, upstreamHead: rest, durationMs: performance.now() - startedAt });
      } else {
        settle({ kind: 'refused', statusCode });
        relayRefusal(upstream, client, rest, responseEndOf(statusCode, responseHeaders(head)));
      }
      return;
    }
  };

  stopReading = onChunks(upstream, onData);
  upstream.on('error', onFailure).on('close', onEarlyClose);
  // Client sockets are half-open capable: a FIN alone ('end', no 'close') also means gone.
  client.on('close', onClientGone).on('end', onClientGone);
  upstream.write(requestHead(req, options.upstream), 'latin1');
}

/**
 * Header values arrive latin1-decoded: written back as latin1 they are the client's bytes.
 * The version goes as it came: an app that requires HTTP/1.1 for an upgrade (RFC 6455) decides.
 */
function requestHead(req: UpgradeRequest, upstream: Address): string {
  return forwardedUpgradeHead(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.rawHeaders, req.socket.remoteAddress, upstream);
}

/** `HTTP/1.x NNN` at the start of the head, read off the bytes: the status, or -1. */
export function statusCodeOf(head: Buffer): number {
  // "HTTP/1." then 0 or 1, a space, three digits, and a space or the CR of an empty reason.
  if (head.length < 13 || head.readUInt32BE(0) !== 0x48545450 || head[4] !== 0x2f || head[5] !== 0x31 || head[6] !== 0x2e) return -1;
  if ((head[7] !== 0x30 && head[7] !== 0x31) || head[8] !== 0x20 || (head[12] !== 0x20 && head[12] !== 0x0d)) return -1;
  const d1 = head[9]! - 0x30;
  const d2 = head[10]! - 0x30;
  const d3 = head[11]! - 0x30;
  if (d1 < 1 || d1 > 5 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return -1;
  return d1 * 100 + d2 * 10 + d3;
}

/** A refusal's headers (the rare path), read only to know where its body ends. */
function responseHeaders(head: Buffer): Map<string, string> {
  const lines = head.toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return headers;
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
  onChunks(upstream, forward);
  upstream.on('end', finish).on('error', () => client.destroy());
  upstream.resume();
}
