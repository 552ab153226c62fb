// Pins the one Node internal the native plane relies on (socket-fd.ts): a
// connected TCP socket's libuv handle shows its fd, and after the fd is
// duplicated and Node's socket destroyed, the connection lives on in the
// duplicate — no FIN or RST reaches the peer — with Node's read-ahead handed over.
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { socketFd, takeOverSocket } from '../../proxy/data-path/socket-fd.js';
import { nativeAddonForTests } from '../helpers/native.js';

const addon = nativeAddonForTests();
const opened: Array<Socket | Server> = [];
afterEach(() => {
  for (const item of opened.splice(0)) item instanceof Socket ? item.destroy() : item.close();
});

async function connectedPair(): Promise<{ ours: Socket; peer: Socket }> {
  const server = createServer();
  opened.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const ours = new Socket();
  ours.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(ours, 'connect');
  const [peer] = await accepted;
  opened.push(ours, peer);
  return { ours, peer };
}

describe('socketFd', () => {
  it('reads the fd of a connected TCP socket, and none of an unconnected one', async () => {
    const { ours } = await connectedPair();
    expect(socketFd(ours)).toBeGreaterThanOrEqual(0);
    expect(socketFd(new Socket())).toBeUndefined();
  });
});

describe.skipIf(!addon)('takeOverSocket', () => {
  it('keeps the connection alive in a dup after Node lets go, handing over what Node had read', async () => {
    const { ours, peer } = await connectedPair();
    let peerEnded = false;
    peer.on('end', () => (peerEnded = true)).on('error', () => (peerEnded = true));
    ours.pause();
    peer.write('read ahead');
    while (ours.readableLength < 10) await once(ours, 'readable');
    const taken = takeOverSocket(ours, addon!.dupFd)!;
    expect(taken.buffered.toString()).toBe('read ahead');
    expect(ours.destroyed).toBe(true);
    // The duplicate, wrapped by Node's public fd option, still talks to the peer both ways.
    const revived = new Socket({ fd: taken.fd, readable: true, writable: true });
    opened.push(revived);
    const fromPeer = once(revived, 'data');
    peer.write('after');
    expect(String((await fromPeer)[0])).toBe('after');
    const toPeer = once(peer, 'data');
    revived.write('reply');
    expect(String((await toPeer)[0])).toBe('reply');
    expect(peerEnded).toBe(false);
  });

  it('refuses a socket Node still has bytes to write for', async () => {
    const { ours } = await connectedPair();
    ours.cork();
    ours.write('queued');
    expect(takeOverSocket(ours, addon!.dupFd)).toBeUndefined();
    expect(ours.destroyed).toBe(false);
  });
});
