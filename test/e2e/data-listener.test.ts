// The data port's first-head reader on the real CLI: garbage refused, plain HTTP and
// later upgrades on a kept-alive connection still served through Node's HTTP server.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closePayload, encodeFrame } from '../helpers/frames.js';
import { withSidecar } from '../helpers/with-sidecar.js';

const UPGRADE = 'GET /later HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

async function rawClient(port: number): Promise<{ socket: Socket; read(until: (text: string) => boolean): Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  return {
    socket,
    async read(until) {
      while (!until(text)) await Promise.race([once(socket, 'data'), once(socket, 'end').then(() => { throw new Error(`ended with ${JSON.stringify(text)}`); })]);
      const got = text;
      text = '';
      return got;
    },
  };
}

/** A whole response with a Content-Length body, or a chunked one. */
function responseComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length: (\d+)\r\n/i.exec(text.slice(0, end + 2));
  return length ? text.length >= end + 4 + Number(length[1]) : text.endsWith('\r\n0\r\n\r\n');
}

describe('data listener', () => {
  it('refuses bytes that are not HTTP with 400 and closes, while serving others', async () => {
    await withSidecar({}, async ({ sidecar }) => {
      const { socket } = await rawClient(sidecar.dataPort);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01]));
      await once(socket, 'end');
      expect(answer).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/);
      const response = await fetch(`http://127.0.0.1:${sidecar.dataPort}/after`);
      expect(response.status).toBe(200);
    });
  });

  it('serves plain HTTP and then a WebSocket upgrade on the same kept-alive connection', async () => {
    await withSidecar({}, async ({ sidecar, app }) => {
      const client = await rawClient(sidecar.dataPort);
      client.socket.write('GET /first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const first = await client.read(responseComplete);
      expect(first).toMatch(/^HTTP\/1.1 200 /);
      expect(first).not.toMatch(/Connection: close/i);
      const appConnection = app.nextConnection();
      client.socket.write(UPGRADE);
      expect(await client.read((text) => text.includes('\r\n\r\n'))).toMatch(/^HTTP\/1.1 101 /);
      const appSide = await appConnection;
      const message = once(appSide, 'message');
      client.socket.write(encodeFrame({ opcode: 1, fin: true, payload: Buffer.from('hello'), masked: true }));
      expect(String((await message)[0])).toBe('hello');
      client.socket.write(encodeFrame({ opcode: 8, fin: true, payload: closePayload(1000), masked: true }));
      await once(client.socket, 'end');
      client.socket.destroy();
    });
  });
});
