// Loads the optional native data plane (proxy/data-path/native/, built by
// `npm run build:native`). Absent or unloadable, the JavaScript plane runs: the
// reason is returned, never thrown, so `--data-plane auto` can say why it fell back.
import { createRequire } from 'node:module';

/** One event row from the engine: see EventKind in native/src/engine.h. */
export const enum NativeEventKind {
  CloseFrame = 1,
  ProtocolError = 2,
  Ended = 3,
  Closed = 4,
  SidecarPong = 5,
  Finished = 6,
}

/** The engine's JS class (native/src/addon.cc): tunnel ids, direction 0 = to the app, side 0 = the client. */
export interface NativeEngine {
  adopt(clientFd: number, upstreamFd: number, clientHead: Buffer, upstreamHead: Buffer, consumePongs: boolean): number;
  injectAndSeal(id: number, direction: number, frame: Buffer, boundary: number): boolean;
  injectBeforeSourceClose(id: number, direction: number, frame: Buffer): void;
  relaxToFrameBoundary(id: number, direction: number): void;
  sealAtFrameBoundary(id: number, direction: number, frame: Buffer): boolean;
  writeAtFrameBoundary(id: number, direction: number, frame: Buffer): boolean;
  writeAndSeal(id: number, direction: number, frame: Buffer): void;
  /** Bit 0 sealed, bit 1 the source sent its close frame. */
  directionState(id: number, direction: number): number;
  end(id: number, side: number): void;
  destroy(id: number, side: number, reset: boolean): void;
  /** Bit 0 writableEnded, bit 1 destroyed, bit 2 bytes still queued for it. */
  sideState(id: number, side: number): number;
  takeActive(id: number, clear: boolean): boolean;
  /** messages/bytes to the app, messages/bytes to the client; undefined once the tunnel is gone. */
  counters(id: number): Float64Array | undefined;
  tunnelCount(): number;
  queuedBytes(): number;
  close(): void;
}

export interface NativeAddon {
  readonly NativeEngine: new (onEvents: (rows: Float64Array) => void) => NativeEngine;
  dupFd(fd: number): number;
  /** The native scanner driven over `stream` cut at `chunkEnds` (for the differential test). */
  scanTrace(stream: Buffer, chunkEnds: Uint32Array, masked: boolean, stopBeforeControl: boolean, wantBoundary: number): Float64Array;
  readonly eventWidth: number;
  /** Bytes read at once, and so the most one direction queues for its sink. */
  readonly readBytes: number;
}

export type AddonLoad = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

const ADDON_FILE = './native/ws_sidecar_native.node';
let loaded: AddonLoad | undefined;

/** Loads once per process; the same answer afterwards. */
export function loadNativeAddon(): AddonLoad {
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { ok: false, reason: `no native data plane on ${process.platform} (it uses epoll)` });
  try {
    const addon = createRequire(import.meta.url)(ADDON_FILE) as NativeAddon;
    loaded = { ok: true, addon };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'MODULE_NOT_FOUND' ? 'the native addon is not built (npm run build:native needs g++, make and python3)' : `the native addon did not load: ${(err as Error).message.split('\n')[0]}`;
    loaded = { ok: false, reason };
  }
  return loaded;
}
