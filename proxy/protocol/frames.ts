// Builds the few frames the sidecar writes itself: close and ping.
import { randomBytes, randomInt } from 'node:crypto';

/** RFC 6455 §5.5: control payloads are ≤ 125 bytes, so a close reason is ≤ 123. */
export const MAX_CLOSE_REASON_BYTES = 123;

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  badGateway: 1014,
} as const;

/** Frames sent to the app must be masked (we are its client); frames to the client must not. */
export function buildCloseFrame(code: number, reason: string, masked: boolean): Buffer {
  const reasonBytes = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return buildControlFrame(0x8, payload, masked);
}

export function buildPingFrame(payload: Buffer, masked: boolean): Buffer {
  return buildControlFrame(0x9, payload, masked);
}

function buildControlFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  if (payload.length > 125) throw new RangeError('control frame payload over 125 bytes');
  const headerLength = masked ? 6 : 2;
  const frame = Buffer.allocUnsafe(headerLength + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = (masked ? 0x80 : 0) | payload.length;
  if (!masked) {
    payload.copy(frame, 2);
    return frame;
  }
  const mask = randomBytes(4);
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** Payload of the sidecar's own keep-alive pings; pongs carrying it are answers to us. */
const SIDECAR_PING_PAYLOAD = Buffer.from('ws-sidecar');

/** The ping the sidecar sends to clients (unmasked: we are their server). */
export const SIDECAR_PING_FRAME = buildPingFrame(SIDECAR_PING_PAYLOAD, false);

/** True if `frame` (one whole masked pong from a client) answers the sidecar's ping. */
export function isSidecarPong(frame: Buffer): boolean {
  if (frame.length < 6 || (frame[1]! & 0x7f) !== SIDECAR_PING_PAYLOAD.length || !(frame[1]! & 0x80)) return false;
  for (let i = 0; i < SIDECAR_PING_PAYLOAD.length; i++) {
    if ((frame[6 + i]! ^ frame[2 + (i & 3)]!) !== SIDECAR_PING_PAYLOAD[i]) return false;
  }
  return true;
}

/** Cuts at a character boundary so the reason stays valid UTF-8. */
export function truncateUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let cut = maxBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut);
}

/** A reconnect hint `delay_ms=<n>` jittered to ±50% of the base, so reconnects spread out. */
export function reconnectDelayMs(baseMs: number): number {
  if (baseMs <= 0) return 0;
  return Math.round(baseMs / 2) + randomInt(Math.max(1, Math.round(baseMs)) + 1);
}

export function hintReason(prefix: string, delayMs: number): string {
  return `${prefix}; delay_ms=${delayMs}`;
}
