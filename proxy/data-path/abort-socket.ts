// Ending a connection abnormally without leaking it. A TCP reset tells the peer
// that bytes were lost; but libuv refuses to reset a socket whose shutdown (our
// FIN) is pending, and Node then emits 'error', drops the handle unclosed and
// never emits 'close': the fd leaks and whatever waits for 'close' waits forever.
// So a socket whose write side was ended is destroyed plainly (its FIN is already
// on the way), and only a socket still open for writing is reset.
import type { Socket } from 'node:net';

export function abortSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded || socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
