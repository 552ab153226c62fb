// Upstream sockets read into one process-wide buffer (net's `onread`) instead of a
// fresh Buffer per read, and hand each chunk to a reader function rather than
// through the stream's 'data' machinery. Safe because readers use a chunk
// synchronously; whoever lets a reference outlive the call (a write the kernel
// did not take at once) calls `retainLastChunk()`, and the next read gets a new buffer.
import { connect, type Socket } from 'node:net';

const SIZE = 64 * 1024;
let shared = Buffer.allocUnsafeSlow(SIZE);

export type ChunkReader = (chunk: Buffer) => void;

const readers = new WeakMap<Socket, ChunkReader>();

export function connectReadingShared(host: string, port: number, reader: ChunkReader): Socket {
  const socket = connect({
    host,
    port,
    onread: {
      buffer: () => shared,
      callback: (bytes, buffer) => {
        readers.get(socket)?.(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
        return true;
      },
    },
  });
  readers.set(socket, reader);
  return socket;
}

/** Gives the socket's chunks to another reader from now on. */
export function setReader(socket: Socket, reader: ChunkReader): void {
  readers.set(socket, reader);
}

export function readsShared(socket: Socket): boolean {
  return readers.has(socket);
}

/** The last chunk is still referenced (e.g. by a queued write): later reads must not overwrite it. */
export function retainLastChunk(): void {
  shared = Buffer.allocUnsafeSlow(SIZE);
}
