// The TypeScript twin of native/src/scanner-trace.cc: drives frame-scanner.ts
// over a stream cut into chunks and records every stop in the native trace's
// layout (9 numbers a stop). Errors are sticky, so a stop records only whether
// one is set; its text is compared once, at the end (errorText, nativeErrorText).
import { Boundary, FrameScanner, ScanEvent } from '../../proxy/protocol/frame-scanner.js';
import { nativeFrameError } from '../../proxy/data-path/native-frame-errors.js';

export const TRACE_WIDTH = 9;

export interface TsTrace {
  readonly rows: Float64Array;
  readonly errorText: string;
}

export function tsScanTrace(stream: Buffer, ends: Uint32Array, masked: boolean, stopBeforeControl: boolean, wantBoundary: Boundary): TsTrace {
  const scanner = new FrameScanner(masked);
  scanner.stopBeforeControl = stopBeforeControl;
  scanner.wantBoundary = wantBoundary;
  let rows = new Float64Array(TRACE_WIDTH * (ends.length + 16));
  let used = 0;
  let start = 0;
  for (const rawEnd of ends) {
    const end = Math.min(rawEnd, stream.length);
    if (end <= start) continue;
    const chunk = stream.subarray(start, end);
    let pos = 0;
    for (;;) {
      const stop = scanner.scan(chunk, pos);
      if (used + TRACE_WIDTH > rows.length) {
        const grown = new Float64Array(rows.length * 2);
        grown.set(rows);
        rows = grown;
      }
      rows[used] = scanner.event;
      rows[used + 1] = start + stop;
      rows[used + 2] = scanner.lastOpcode;
      rows[used + 3] = scanner.closeCode;
      rows[used + 4] = scanner.messages;
      rows[used + 5] = scanner.payloadBytes;
      rows[used + 6] = (scanner.atFrameBoundary ? 1 : 0) + (scanner.atMessageBoundary ? 2 : 0) + (scanner.error?.atFrameStart ? 4 : 0);
      rows[used + 7] = scanner.error ? 1 : 0;
      rows[used + 8] = 0;
      used += TRACE_WIDTH;
      if (scanner.event === ScanEvent.None || scanner.event === ScanEvent.Error) break;
      pos = stop;
    }
    start = end;
  }
  const error = scanner.error;
  return { rows: rows.subarray(0, used), errorText: error ? `${error.code}: ${error.message} (at frame start: ${error.atFrameStart})` : '' };
}

/** Index of the first stop where the traces differ (error columns: set or not), or -1. */
export function firstDifference(ts: Float64Array, native: Float64Array): number {
  const length = Math.max(ts.length, native.length);
  for (let i = 0; i < length; i += TRACE_WIDTH) {
    for (let j = 0; j < 7; j++) if (ts[i + j] !== native[i + j]) return i / TRACE_WIDTH;
    if (ts[i + 7] !== (native[i + 7] === undefined ? undefined : native[i + 7]! === 0 ? 0 : 1)) return i / TRACE_WIDTH;
  }
  return -1;
}

/** The native trace's error (its last stop), as frame-scanner.ts would word it. */
export function nativeErrorText(native: Float64Array): string {
  if (native.length === 0) return '';
  const last = native.length - TRACE_WIDTH;
  if (native[last + 7] === 0) return '';
  const error = nativeFrameError(native[last + 7]!, native[last + 8]!, (native[last + 6]! & 4) !== 0);
  return `${error.code}: ${error.message} (at frame start: ${error.atFrameStart})`;
}

/** Rows as arrays, to show a mismatch readably. */
export function rowsAround(trace: Float64Array, stop: number): number[][] {
  const rows: number[][] = [];
  for (let s = Math.max(0, stop - 2); s <= stop + 1 && s * TRACE_WIDTH < trace.length; s++) rows.push([...trace.subarray(s * TRACE_WIDTH, (s + 1) * TRACE_WIDTH)]);
  return rows;
}
