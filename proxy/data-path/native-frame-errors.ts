// The native scanner reports an error as an index and a number; this turns it
// into the same FrameError frame-scanner.ts builds (order: FrameError in
// native/src/frame-scanner.h).
import type { FrameError } from '../protocol/frame-scanner.js';

type ErrorText = (detail: number) => [code: string, message: string];

const NATIVE_FRAME_ERRORS: readonly ErrorText[] = [
  () => ['WS_SIDECAR_FRAME_NONE', 'no error'],
  (opcode) => ['WS_SIDECAR_FRAME_RESERVED_OPCODE', `reserved opcode ${opcode}`],
  () => ['WS_SIDECAR_FRAME_FRAGMENTED_CONTROL', 'fragmented control frame'],
  () => ['WS_SIDECAR_FRAME_UNEXPECTED_CONTINUATION', 'continuation frame without a message'],
  () => ['WS_SIDECAR_FRAME_INTERLEAVED_MESSAGE', 'new message inside a fragmented one'],
  () => ['WS_SIDECAR_FRAME_MASK', 'unmasked frame from a client'],
  () => ['WS_SIDECAR_FRAME_MASK', 'masked frame from a server'],
  () => ['WS_SIDECAR_FRAME_TOO_LONG', 'payload length beyond 2^53 - 1'],
  (length) => ['WS_SIDECAR_FRAME_CONTROL_TOO_LONG', `control frame of ${length} bytes`],
  () => ['WS_SIDECAR_FRAME_BAD_CLOSE', 'close frame with a 1-byte payload'],
];

export function nativeFrameError(index: number, detail: number, atFrameStart: boolean): FrameError {
  const [code, message] = (NATIVE_FRAME_ERRORS[index] ?? NATIVE_FRAME_ERRORS[0]!)(detail);
  return { code, message, atFrameStart };
}
