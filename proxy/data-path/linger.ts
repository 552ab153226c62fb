// Sockets the sidecar answered without a tunnel (rejections, refusals, errors):
// after the answer they belong to nobody — Node's server timeouts stop at the
// upgrade — so a peer that never closes would hold the fd for free. Held here,
// they are read and discarded (so closing them sends no reset over unread input,
// as nginx's lingering close does) and destroyed once the peer has been quiet for
// a short linger, or at the latest after the longest linger time.
import type { Socket } from 'node:net';

/** Quiet time after which a socket that answered is destroyed. */
export const LINGER_IDLE_MS = 2_000;
/** However chatty the peer, no answered socket is kept longer than this. */
export const LINGER_MAX_MS = 30_000;

const ignoreError = (): void => undefined;

export class Lingering {
  private readonly sockets = new Set<Socket>();

  get size(): number {
    return this.sockets.size;
  }

  /** Takes ownership of a socket whose answer is written (or being written) and ended (or about to be). */
  hold(socket: Socket): void {
    if (socket.destroyed || this.sockets.has(socket)) return;
    this.sockets.add(socket);
    const destroy = (): void => {
      socket.destroy();
    };
    const maxTimer = setTimeout(destroy, LINGER_MAX_MS);
    maxTimer.unref();
    socket.on('error', ignoreError);
    socket.setTimeout(LINGER_IDLE_MS, destroy);
    socket.once('close', () => {
      clearTimeout(maxTimer);
      this.sockets.delete(socket);
    });
    // Whatever the peer still sends is read and dropped; its FIN then ends the socket.
    socket.resume();
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
