// A socket the sidecar answers without a tunnel is its to close: a peer that reads
// the answer and never closes must not keep an fd (Node's server timeouts stop at the upgrade).
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openClient, closed } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

const UPGRADE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A peer that sends an upgrade, reads the answer and then never closes its side. */
async function stubbornPeer(port: number): Promise<{ socket: Socket; answer: Promise<string> }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(UPGRADE);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  return { socket, answer: once(socket, 'end').then(() => text) };
}

/** Resolves when `check` holds (re-tested on every turn of the loop); false past `withinMs`. */
async function eventually(check: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

describe('rejected sockets linger, then go', () => {
  it('frees the fds of 200 rejected clients that stay open (--max-connections 1)', async () => {
    await withSidecar({ args: ['--max-connections', '1'] }, async ({ sidecar, wsUrl }) => {
      const holder = await openClient(wsUrl);
      const pid = sidecar.child.pid!;
      const baseline = openFds(pid);
      const peers = await Promise.all(Array.from({ length: 200 }, () => stubbornPeer(sidecar.dataPort)));
      const answers = await Promise.all(peers.map((peer) => peer.answer));
      expect(answers.every((answer) => answer.startsWith('HTTP/1.1 503'))).toBe(true);
      // Held while the answers are read, then released within the linger.
      expect(await eventually(() => openFds(pid) <= baseline + 2, 10_000)).toBe(true);
      // The peers are still open on their side: writing to the sidecar now meets a reset.
      // (The first write meets the reset, the next one reports it.)
      const reset = once(peers[0]!.socket, 'error');
      peers[0]!.socket.write('anyone there?', () => peers[0]!.socket.write('hello?'));
      expect(((await reset)[0] as NodeJS.ErrnoException).code).toMatch(/ECONNRESET|EPIPE/);
      for (const peer of peers) peer.socket.destroy();
      // The slot holder was never disturbed.
      holder.close();
      await closed(holder);
    });
  });

  it("frees the fd of a client whose upgrade the app refused, and of one the app could not be reached for", async () => {
    // An app that refuses every upgrade with 403 and keeps its own connection open.
    const refusing = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'));
    }).listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`]);
    try {
      const pid = sidecar.child.pid!;
      const baseline = openFds(pid);
      const peers = await Promise.all(Array.from({ length: 20 }, () => stubbornPeer(sidecar.dataPort)));
      const answers = await Promise.all(peers.map((peer) => peer.answer));
      expect(answers.every((answer) => answer.startsWith('HTTP/1.1 403'))).toBe(true);
      expect(await eventually(() => openFds(pid) <= baseline + 2, 10_000)).toBe(true);
      for (const peer of peers) peer.socket.destroy();

      // Now the app is gone: a 502, and the same linger.
      refusing.close();
      await once(refusing, 'close');
      const gone = await Promise.all(Array.from({ length: 20 }, () => stubbornPeer(sidecar.dataPort)));
      const failures = await Promise.all(gone.map((peer) => peer.answer));
      expect(failures.every((answer) => answer.startsWith('HTTP/1.1 502'))).toBe(true);
      expect(await eventually(() => openFds(pid) <= baseline + 2, 10_000)).toBe(true);
      for (const peer of gone) peer.socket.destroy();
    } finally {
      sidecar.kill();
      refusing.close();
    }
  });
});
