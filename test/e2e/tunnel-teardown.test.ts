// Every tunnel is torn down, whatever order the peers' closes, FINs and garbage come in:
// its slot and fds are given back, and SIGTERM exits at the drain deadline at the latest.
// The app is Python's `websockets`, which fails a connection on a protocol error by
// sending close 1002 and closing TCP at once (a half-close the sidecar must follow).
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { seededRandom } from '../helpers/frames.js';
import { startPythonEchoApp } from '../helpers/python-app.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const UPGRADE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
/** Masked binary frame with RSV1 set: no extension was negotiated, so the app fails the connection. */
const RSV1_FRAME = Buffer.from([0xc2, 0x82, 1, 2, 3, 4, 5, 6]);
/** Masked frame with the reserved opcode 5. */
const RESERVED_OPCODE_FRAME = Buffer.from([0x85, 0x80, 0, 0, 0, 0]);

async function activeConnections(sidecar: SidecarProcess): Promise<number> {
  return sample(parseExposition(await scrape(sidecar.adminPort)), 'ws_sidecar_connections_active')!;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resolves once `check` holds, re-testing after each of the sidecar's scrapes; false if it never did by `withinMs`. */
async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return check();
}

/** Upgrades by hand; `script` runs on every chunk after the 101 and sees all bytes since. Resolves with whether the sidecar (or the script) closed the socket. */
async function rawTunnel(port: number, script: (socket: Socket, received: () => Buffer) => void, boundMs = 8000): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(UPGRADE);
  let buffered = Buffer.alloc(0);
  let upgraded = false;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!upgraded) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      buffered = buffered.subarray(end + 4);
      script(socket, () => buffered);
    } else script(socket, () => buffered);
  });
  // A bound, not a sleep: true when the socket closed before it.
  let cutHere = false;
  const bound = setTimeout(() => {
    cutHere = true;
    socket.destroy();
  }, boundMs);
  await once(socket, 'close');
  clearTimeout(bound);
  return !cutHere;
}

describe('tunnel teardown', () => {
  it('gives back every tunnel when a frame follows the app\'s protocol-error close, and exits 0 on SIGTERM', async () => {
    const app = await startPythonEchoApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '1', '--close-timeout', '1', '--drain-timeout', '3']);
    try {
      const fdsBefore = openFds(sidecar.child.pid!);
      const closedBySidecar = await Promise.all(
        Array.from({ length: 60 }, () => {
          let sentFirst = false;
          let sentSecond = false;
          return rawTunnel(sidecar.dataPort, (socket, received) => {
            if (!sentFirst) {
              sentFirst = true;
              socket.write(RSV1_FRAME);
            }
            // As soon as the app's close arrives, another (bad) frame goes after it.
            const bytes = received();
            if (!sentSecond && bytes.length >= 2 && (bytes[0]! & 0x0f) === 8) {
              sentSecond = true;
              socket.write(RESERVED_OPCODE_FRAME);
            }
          });
        }),
      );
      expect(closedBySidecar.filter((ok) => !ok).length).toBe(0);
      expect(await eventually(async () => (await activeConnections(sidecar)) === 0, 5000)).toBe(true);
      expect(await eventually(async () => openFds(sidecar.child.pid!) <= fdsBefore, 5000)).toBe(true);

      sidecar.child.kill('SIGTERM');
      expect(await sidecar.exited).toBe(0);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('leaks no tunnel under random frames, cuts and resets from the client (seeded fuzz)', async () => {
    const app = await startPythonEchoApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '1', '--close-timeout', '1', '--drain-timeout', '3']);
    const random = seededRandom(12);
    try {
      const fdsBefore = openFds(sidecar.child.pid!);
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from({ length: 100 }, () => {
            const frames = fuzzFrames(random);
            const ending = random();
            return rawTunnel(sidecar.dataPort, (socket, received) => {
              const first = frames.length > 0;
              for (const frame of frames.splice(0)) socket.write(frame);
              if (first && ending < 0.3) socket.end();
              else if (first && ending < 0.45) socket.resetAndDestroy();
              else if (received().length > 0) {
                if (ending < 0.7) socket.destroy();
                else if (!socket.writableEnded) socket.end();
              }
            }, 1500);
          }),
        );
      }
      expect(await eventually(async () => (await activeConnections(sidecar)) === 0, 5000)).toBe(true);
      expect(await eventually(async () => openFds(sidecar.child.pid!) <= fdsBefore, 5000)).toBe(true);
      sidecar.child.kill('SIGTERM');
      expect(await sidecar.exited).toBe(0);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});

/** A few frames, valid or not: reserved bits and opcodes, unmasked frames, closes, truncations. */
function fuzzFrames(random: () => number): Buffer[] {
  const frames: Buffer[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    const length = Math.floor(random() * 40);
    const opcode = [1, 2, 8, 9, 10, 3, 5, 0xb][Math.floor(random() * 8)]!;
    const rsv = random() < 0.2 ? 0x40 : 0;
    const masked = random() < 0.9 ? 0x80 : 0;
    const payload = opcode === 8 ? Buffer.from([0x03, 0xe8, ...Buffer.alloc(Math.max(0, length - 2))]) : Buffer.alloc(length, 0x61);
    const header = Buffer.from([0x80 | rsv | opcode, masked | payload.length]);
    const frame = Buffer.concat([header, masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), payload]);
    frames.push(random() < 0.15 ? frame.subarray(0, Math.floor(random() * frame.length)) : frame);
  }
  return frames;
}
