// Turning an upgrade away: an HTTP status with Retry-After (`--reject-with http`),
// or a handshake completed by the sidecar itself and a close frame carrying the
// reconnect hint (`--reject-with close`), which browsers can read.
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { hintReason, reconnectDelayMs } from '../protocol/frames.js';

export interface Rejection {
  /** HTTP status in http mode: 502, 503, 504, 429. */
  readonly status: number;
  /** Close code in close mode: 1012, 1013, 1014. */
  readonly closeCode: number;
  /** Machine-readable reason, e.g. `at_capacity`, `upstream_unreachable`. */
  readonly reason: string;
  /** Base of the reconnect hint; 0 sends none. */
  readonly retryAfterMs: number;
}

export type RejectMode = 'http' | 'close';

// Only used to speak the handshake; never listens on a port.
const handshaker = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
  // Browsers fail a handshake that answers none of the offered subprotocols.
  handleProtocols: (protocols) => protocols.values().next().value ?? false,
});

/** The request as `ws` reads it to complete a handshake: method, url and headers. */
export type RejectedRequest = Pick<IncomingMessage, 'headers'> & { readonly method?: string; readonly url?: string };

export function rejectUpgrade(req: RejectedRequest, socket: Socket, head: Buffer, mode: RejectMode, rejection: Rejection): void {
  if (socket.destroyed) return;
  const delayMs = reconnectDelayMs(rejection.retryAfterMs);
  if (mode === 'close') {
    // ws reads only method, url and headers of the request, whoever parsed it.
    handshaker.handleUpgrade(req as IncomingMessage, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      ws.close(rejection.closeCode, hintReason(rejection.reason, delayMs));
    });
    return;
  }
  writeHttpRejection(socket, rejection, delayMs);
}

export function writeHttpRejection(socket: Socket, rejection: Rejection, delayMs: number): void {
  const body = JSON.stringify({ error: rejection.reason, delay_ms: delayMs }) + '\n';
  let head = `HTTP/1.1 ${rejection.status} ${STATUS_CODES[rejection.status] ?? ''}\r\n`;
  head += 'Content-Type: application/json\r\n';
  head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  if (rejection.retryAfterMs > 0) head += `Retry-After: ${Math.max(1, Math.ceil(delayMs / 1000))}\r\n`;
  head += 'Connection: close\r\n\r\n';
  socket.end(head + body);
}
