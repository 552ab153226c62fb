// Hands a connected net.Socket's file descriptor to the native plane. Node has
// no public way to read a socket's fd, so the one internal it relies on — the
// libuv handle's `fd` getter (TCPWrap, Linux) — is read here and nowhere else;
// test/data-path/socket-fd.test.ts pins that behaviour on the running Node.
import type { Socket } from 'node:net';
import { boundedReaderOf } from './bounded-reads.js';

/** The fd under a connected TCP socket, or undefined where Node does not expose one. */
export function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

export interface TakenSocket {
  /** A duplicate of the socket's fd, owned by the caller from now on. */
  readonly fd: number;
  /** Bytes Node had already read from the socket (to be processed first). */
  readonly buffered: Buffer;
}

/**
 * Takes the connection away from Node: what Node had read is returned, the fd is
 * duplicated (`dup`) and Node's socket destroyed, which closes only Node's copy of
 * the fd (no FIN, no RST: the connection lives on in the duplicate). Refuses
 * (undefined) while Node still holds bytes to write, or has no fd to give.
 */
export function takeOverSocket(socket: Socket, dup: (fd: number) => number): TakenSocket | undefined {
  const fd = socketFd(socket);
  if (fd === undefined || socket.writableLength > 0 || socket.destroyed) return undefined;
  // First, so that a failed dup (EMFILE) leaves the socket untouched, still Node's.
  const copy = dup(fd);
  socket.pause();
  // A socket with bounded reads (the upstream) keeps what it read outside Node's stream.
  const pieces: Buffer[] = boundedReaderOf(socket)?.takeHeld() ?? [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) pieces.push(chunk);
  socket.destroy();
  return { fd: copy, buffered: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces) };
}
