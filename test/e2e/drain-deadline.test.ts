// The drain deadline holds whatever is still in flight, and a drain can start as early as the process does.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { CLI_PATH, startSidecarProcess } from '../helpers/sidecar-process.js';

interface Summary {
  drained: boolean;
  destroyedAtDeadline: number;
}

describe('drain deadline', () => {
  it('gives up handshakes still waiting on the app at --drain-timeout, so /drain?wait=1 answers in time', async () => {
    // An app that accepts TCP and never answers the upgrade.
    const held: Socket[] = [];
    const mute = createServer((socket) => held.push(socket.on('error', () => undefined))).listen(0, '127.0.0.1');
    await once(mute, 'listening');
    const sidecar = await startSidecarProcess([
      '--upstream', `http://127.0.0.1:${(mute.address() as AddressInfo).port}`,
      // Far beyond the test's own timeout: only the drain deadline can end this handshake in time.
      '--handshake-timeout', '600',
      '--drain-spread', '0', '--close-timeout', '1', '--drain-timeout', '1',
    ]);
    try {
      const client = connect(sidecar.dataPort, '127.0.0.1');
      client.on('error', () => undefined);
      await once(client, 'connect');
      client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      const appSide = once(mute, 'connection');
      await appSide;
      const clientClosed = once(client, 'close');
      const response = await request(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' });
      const summary = (await response.body.json()) as Summary;
      expect(response.statusCode).toBe(200);
      expect(summary).toMatchObject({ drained: true, destroyedAtDeadline: 1 });
      await clientClosed;
    } finally {
      sidecar.kill();
      for (const socket of held) socket.destroy();
      mute.close();
    }
  });

  it('drains (exit 0) on a SIGTERM that comes before the ports are open', async () => {
    const child = spawn(process.execPath, [CLI_PATH, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--upstream', 'http://127.0.0.1:9'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const messages: string[] = [];
    const exited = once(child, 'exit');
    try {
      createInterface({ input: child.stdout! }).on('line', (text) => {
        const line = JSON.parse(text) as { msg: string };
        messages.push(line.msg);
        // The first line is written before any port is bound.
        if (line.msg === 'starting') child.kill('SIGTERM');
      });
      const [code] = await exited;
      expect(code).toBe(0);
      expect(messages[0]).toBe('starting');
      expect(messages).toContain('drain finished');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
