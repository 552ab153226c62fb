// Upstream sockets read into one shared buffer of READ_BYTES (net.connect's
// `onread`), and each read is copied out before the next. Node's default
// allocates up to 64 KiB per read, and a stalled sink keeps the last one queued;
// bounded reads cap what a slow client can hold per app→client direction at one
// read. In this mode Node emits no 'data': the reader hands chunks to one listener
// at a time (the handshake, then the pump). pause()/resume() stop and start the
// kernel reads directly, and 'end'/'error'/'close' fire as usual.
// A small read is copied at its exact length. A large one goes into a recycled
// buffer of the read size: a listener that says it kept no
// reference (the sink took every byte at once, the usual case) gives it back for the
// next read, so streaming makes no garbage. Node's default made one 64 KiB buffer
// per read, and until V8 collected them (it waits for ~64 MiB of external memory)
// they were RSS that the allocator then kept.
import { connect, type Socket } from 'node:net';

/** Most bytes one read of an upstream socket takes (and so can leave queued in its sink). */
export const READ_BYTES = 16 * 1024;
/** The read size while the memory budget throttles: a sink that stalls then holds at most this. */
export const THROTTLED_READ_BYTES = 4 * 1024;

/** Every upstream read lands here first: the callback copies it out before the next read can. */
const shared = Buffer.allocUnsafeSlow(READ_BYTES);
/** What the next read of each upstream socket may fill: all of `shared`, or its start while throttled. */
let readView = shared;
/** A buffer of the read size that nothing references: shared by all readers, as each read is handled synchronously. */
let spare: Buffer | undefined;

/**
 * Sets the size of every upstream socket's next reads (Node asks for the buffer after each
 * read). The memory budget lowers it under pressure and restores READ_BYTES after.
 */
export function setReadBytes(bytes: number): void {
  const size = Math.min(Math.max(1, bytes), READ_BYTES);
  if (size === readView.length) return;
  readView = shared.subarray(0, size);
  spare = undefined;
}

export function readBytes(): number {
  return readView.length;
}

/** Called with the socket as `this` (as 'data' listeners are); returns true when it kept no reference to `chunk` (its memory may be reused at once). */
export type ChunkListener = (this: Socket, chunk: Buffer) => boolean | void;

export class BoundedReader {
  private listener: ChunkListener | undefined;
  /** Bytes read while no one listened (should not happen: kept, and the socket paused, rather than lost). */
  private held: Buffer[] | undefined;

  constructor(readonly socket: Socket) {}

  /** The one consumer from now on (undefined: none); bytes held meanwhile go to it first. */
  listen(listener: ChunkListener | undefined): void {
    this.listener = listener;
    const held = this.held;
    if (listener === undefined || held === undefined) return;
    this.held = undefined;
    for (const chunk of held) listener.call(this.socket, chunk);
  }

  /** Bytes read that no listener took (for a hand-over to another owner, e.g. the native plane). */
  takeHeld(): Buffer[] {
    const held = this.held ?? [];
    this.held = undefined;
    return held;
  }

  /** The `onread` callback: synchronous, so `shared` is not overwritten before it is copied. */
  readonly onRead = (nread: number): void => {
    let chunk: Buffer;
    let backing: Buffer | undefined;
    // Above half the read size, a recycled buffer of the read size (a queued one wastes at most half); below, an exact copy.
    if (nread > readView.length / 2) {
      // A read sized before setReadBytes() shrank the view can be larger than the view.
      backing = spare !== undefined && spare.length >= nread ? spare : Buffer.allocUnsafeSlow(Math.max(nread, readView.length));
      spare = undefined;
      chunk = backing.subarray(0, nread);
    } else {
      // allocUnsafeSlow: a buffer of its own, not a slice of Node's 8 KiB pool that a queued chunk would pin.
      chunk = Buffer.allocUnsafeSlow(nread);
    }
    shared.copy(chunk, 0, 0, nread);
    if (this.listener !== undefined) {
      if (this.listener.call(this.socket, chunk) === true && backing !== undefined && backing.length === readView.length) spare = backing;
      return;
    }
    (this.held ??= []).push(chunk);
    this.socket.pause();
  };
}

const readers = new WeakMap<Socket, BoundedReader>();

/** A TCP connection to the app whose reads are bounded; its chunks come through `boundedReaderOf`. */
export function connectBounded(host: string, port: number): Socket {
  let reader: BoundedReader | undefined;
  // true: keep reading; a listener that wants a pause calls socket.pause(), which stops the reads at once.
  const callback = (nread: number): boolean => {
    reader!.onRead(nread);
    return true;
  };
  // noDelay here, not in the tunnel: the native plane takes the fd over without a JS tunnel.
  const socket = connect({ host, port, noDelay: true, onread: { buffer: () => readView, callback } });
  reader = new BoundedReader(socket);
  readers.set(socket, reader);
  return socket;
}

/** The reader of a socket made by connectBounded; undefined for any other socket (they emit 'data'). */
export function boundedReaderOf(socket: Socket): BoundedReader | undefined {
  return readers.get(socket);
}

/** Subscribes to a socket's bytes whichever way it reads; returns the unsubscribe. */
export function onChunks(socket: Socket, listener: ChunkListener): () => void {
  const reader = readers.get(socket);
  if (reader !== undefined) {
    reader.listen(listener);
    return () => reader.listen(undefined);
  }
  socket.on('data', listener);
  return () => socket.off('data', listener);
}
