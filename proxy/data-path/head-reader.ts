// The first request head of a data-port connection, read off the raw socket with
// hard limits: at most `maxHeaderSize` bytes (else 431), within `timeoutMs` of the
// connect (else 408: slowloris, checked by the owner's sweep, `expireSlowHead`, so no
// connection costs a timer), strictly parsed (else 400). A plain WebSocket
// upgrade then goes straight to the tunnel path, without Node's HTTP server, its
// parser and its request objects; anything else (plain HTTP, other upgrades,
// bodies, HTTP/1.0) is handed, bytes untouched, to the HTTP server that handles
// it today. No closure is made per connection: the listeners are module functions
// and the state hangs off the socket.
import type { Socket } from 'node:net';
import type { Lingering } from './linger.js';
import { findHeadEnd, isRequestHeadError, isTokenByte, parseRequestHead, type RequestHead } from '../protocol/request-head.js';

export interface HeadReaderOptions {
  readonly maxHeaderSize: number;
  readonly timeoutMs: number;
  /** Takes a refused socket once answered: reads and drops, destroys it when the peer goes quiet. */
  readonly lingering: Lingering;
}

export interface HeadReaderHandlers {
  /** A WebSocket upgrade: `rest` is whatever came after the head. The socket is paused. */
  onWebSocketUpgrade(head: RequestHead, socket: Socket, rest: Buffer): void;
  /** Anything else: `bytes` (all that was read) must be parsed by someone else. The socket is paused. */
  onOtherRequest(socket: Socket, bytes: Buffer): void;
  /** A head refused with 400/408/431 (for logs and counters). */
  onRefused?(socket: Socket, status: 400 | 408 | 431, reason: string): void;
  /** The peer went (closed or reset) before its head was whole. */
  onAbandoned?(socket: Socket): void;
}

interface ReaderState {
  readonly options: HeadReaderOptions;
  readonly handlers: HeadReaderHandlers;
  /** A partial head: `buffered[0, length)`, capacity doubled as it grows (no quadratic copying). */
  buffered: Buffer | undefined;
  length: number;
  readonly startedAtMs: number;
}

const kReader = Symbol('ws-sidecar.headReader');
type ReadingSocket = Socket & { [kReader]?: ReaderState };

const STATUS_LINES = { 400: 'HTTP/1.1 400 Bad Request', 408: 'HTTP/1.1 408 Request Timeout', 431: 'HTTP/1.1 431 Request Header Fields Too Large' } as const;

/** Starts reading the first head; exactly one handler is called, or the socket is refused. */
export function readRequestHead(socket: Socket, options: HeadReaderOptions, handlers: HeadReaderHandlers, nowMs = performance.now()): void {
  const reading = socket as ReadingSocket;
  reading[kReader] = { options, handlers, buffered: undefined, length: 0, startedAtMs: nowMs };
  socket.on('data', onHeadData).on('error', onHeadError).on('close', onHeadClose);
}

function onHeadData(this: ReadingSocket, chunk: Buffer): void {
  const state = this[kReader]!;
  const scannedFrom = Math.max(0, state.length - 3);
  const bytes = state.buffered === undefined ? chunk : append(state, chunk);
  const { maxHeaderSize } = state.options;
  // Garbage (TLS, binary) shows in the first byte: refused at once, not at the size limit.
  if (!isTokenByte(bytes[0]!)) return refuse(this, 400, 'not an HTTP request');
  const end = findHeadEnd(bytes, scannedFrom);
  if (end === -2) return refuse(this, 400, 'bare LF in the request head');
  if (end === -1 || end > maxHeaderSize) {
    if (bytes.length > maxHeaderSize) return refuse(this, 431, 'request head over --max-header-size');
    if (state.buffered === undefined) append(state, chunk);
    return;
  }
  const head = parseRequestHead(bytes, end);
  if (isRequestHeadError(head)) return refuse(this, 400, head.error);
  detach(this);
  if (isPlainWebSocketUpgrade(head)) {
    // Not flowing, no reader, as Node's HTTP server hands an upgraded socket over.
    (this as { readableFlowing: boolean | null }).readableFlowing = null;
    state.handlers.onWebSocketUpgrade(head, this, bytes.subarray(end));
  } else {
    state.handlers.onOtherRequest(this, bytes);
  }
}

/** Adds `chunk` to the partial head; returns the bytes so far (a view, valid until the next append). */
function append(state: ReaderState, chunk: Buffer): Buffer {
  const needed = state.length + chunk.length;
  let buffer = state.buffered;
  if (buffer === undefined || buffer.length < needed) {
    const grown = Buffer.allocUnsafe(Math.max(1024, 2 * needed));
    if (buffer !== undefined) buffer.copy(grown, 0, 0, state.length);
    buffer = state.buffered = grown;
  }
  chunk.copy(buffer, state.length);
  state.length = needed;
  return buffer.subarray(0, needed);
}

/**
 * Refuses (408) a head still not whole `timeoutMs` after its connect. The owner calls
 * this from one periodic sweep over its reading sockets; true if the socket was refused.
 */
export function expireSlowHead(socket: Socket, nowMs: number): boolean {
  const state = (socket as ReadingSocket)[kReader];
  if (state === undefined || nowMs - state.startedAtMs < state.options.timeoutMs) return false;
  refuse(socket, 408, 'request head not complete within --handshake-timeout');
  return true;
}

function onHeadError(this: ReadingSocket): void {
  // A reset before the head was whole: nothing to answer.
  this.destroy();
}

function onHeadClose(this: ReadingSocket): void {
  const state = this[kReader];
  if (state === undefined) return;
  detach(this);
  state.handlers.onAbandoned?.(this);
}

function detach(socket: ReadingSocket): void {
  socket[kReader] = undefined;
  socket.pause();
  socket.off('data', onHeadData).off('error', onHeadError).off('close', onHeadClose);
}

/**
 * Answers and closes, as Node's HTTP server does for the same faults; the socket
 * then lingers (data-path/linger.ts, the owner of every socket answered without a
 * tunnel) so that our answer is not lost to a reset caused by unread bytes.
 */
function refuse(socket: ReadingSocket, status: 400 | 408 | 431, reason: string): void {
  const state = socket[kReader]!;
  detach(socket);
  state.handlers.onRefused?.(socket, status, reason);
  socket.end(`${STATUS_LINES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  state.options.lingering.hold(socket);
}

/**
 * GET, HTTP/1.1, `Upgrade: websocket`, `Connection: upgrade`, one Host and no body:
 * the handshake every browser and WebSocket library sends. Any other shape goes
 * the general way, so its edges (bodies, HTTP/1.0, h2c) are handled in one place.
 */
function isPlainWebSocketUpgrade(head: RequestHead): boolean {
  if (head.method !== 'GET' || head.httpVersion !== '1.1') return false;
  let upgrade = false;
  let connectionUpgrade = false;
  let hosts = 0;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hosts++;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') upgrade ||= hasToken(raw[i + 1]!, 'websocket');
        break;
      case 10:
        if (name.toLowerCase() === 'connection') connectionUpgrade ||= hasToken(raw[i + 1]!, 'upgrade');
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') return false;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return false;
        break;
    }
  }
  return upgrade && connectionUpgrade && hosts === 1;
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
export function hasToken(value: string, token: string): boolean {
  const lower = value.length === token.length ? value.toLowerCase() : undefined;
  if (lower === token) return true;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}
