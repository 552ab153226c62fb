// Both sockets of a tunnel send without Nagle's delay (TCP_NODELAY), on either data plane:
// with it off, the tail of a message waits for the peer's ACK (the native plane, which takes
// the upstream's fd without a JS Tunnel, once lost half its 16 KiB throughput that way). Read
// from the sidecar's own system calls: strace attached to the running process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nextMessage, openClient, startApp } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';

const STRACE = '/usr/bin/strace';
// CI installs strace (.ci/run); elsewhere the test needs it too, but may skip without it.
const haveStrace = existsSync(STRACE) || process.env.CI === 'true';

/** The system calls of `pid` (all its threads) while `during` runs. */
async function traced(pid: number, during: () => Promise<void>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'no-delay-'));
  const file = join(dir, 'trace');
  const strace = spawn(STRACE, ['-f', '-e', 'trace=accept4,getpeername,socket,connect,setsockopt,close', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let said = '';
    await new Promise<void>((resolve, reject) => {
      strace.once('exit', (code) => reject(new Error(`strace exited (${code}): ${said}`)));
      strace.stderr!.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (/attached/.test(said)) resolve();
      });
    });
    await during();
  } finally {
    strace.kill('SIGINT');
    if (strace.exitCode === null) await once(strace, 'exit');
  }
  const lines = readFileSync(file, 'utf8').split('\n');
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

/** Whether `fd`, from the line that made it on, was set TCP_NODELAY before it was closed. */
function noDelayAfter(lines: string[], made: number, fd: number): boolean {
  const closed = new RegExp(`close\\(${fd}\\)`);
  const noDelay = new RegExp(`setsockopt\\(${fd}, SOL_TCP, TCP_NODELAY, \\[1\\]`);
  for (const line of lines.slice(made + 1)) {
    if (closed.test(line)) return false;
    if (noDelay.test(line)) return true;
  }
  return false;
}

describe('TCP_NODELAY', () => {
  it.skipIf(!haveStrace)('is set on the client socket and on the socket to the app', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`]);
    try {
      let clientPort = 0;
      const lines = await traced(sidecar.child.pid!, async () => {
        const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
        clientPort = (ws as unknown as { _socket: Socket })._socket.localPort!;
        const echo = nextMessage(ws);
        ws.send(Buffer.alloc(20_000, 1));
        expect((await echo).data.length).toBe(20_000);
        ws.terminate();
      });
      // libuv accepts without the address: the client's socket is the one whose peer is its port.
      const peer = lines.findIndex((line) => line.includes('getpeername(') && line.includes(`htons(${clientPort})`));
      const connected = lines.findIndex((line) => line.includes('connect(') && line.includes(`htons(${app.port})`));
      expect(peer, 'the client socket seen').toBeGreaterThanOrEqual(0);
      expect(connected, 'the connect to the app').toBeGreaterThanOrEqual(0);
      const clientFd = Number(/getpeername\((\d+),/.exec(lines[peer]!)![1]);
      const upstreamFd = Number(/connect\((\d+),/.exec(lines[connected]!)![1]);
      // Node may set the option before or after connect(): look from each socket's making.
      const madeAt = (before: number, call: string, fd: number): number =>
        lines.slice(0, before).findLastIndex((line) => line.includes(`${call}(`) && new RegExp(`= ${fd}\\s*$`).test(line));
      const accepted = madeAt(peer, 'accept4', clientFd);
      const made = madeAt(connected, 'socket', upstreamFd);
      expect(accepted, 'the accept of the client').toBeGreaterThanOrEqual(0);
      expect(made, 'the socket to the app').toBeGreaterThanOrEqual(0);
      expect(noDelayAfter(lines, accepted, clientFd), 'client socket').toBe(true);
      expect(noDelayAfter(lines, made, upstreamFd), 'app socket').toBe(true);
    } finally {
      sidecar.kill();
      await sidecar.exited;
      await app.close();
    }
  });
});
