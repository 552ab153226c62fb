// Raw TCP peers for the cases a well-behaved `ws` peer will not produce.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Connects and upgrades by hand; resolves with the socket and the bytes after the 101 head. */
export async function rawUpgrade(port: number, path = '/'): Promise<{ socket: Socket; head: string; rest: Buffer }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  let buffered = Buffer.alloc(0);
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end >= 0) return { socket, head: buffered.subarray(0, end).toString(), rest: buffered.subarray(end + 4) };
  }
}

/** The 101 a WebSocket app answers an upgrade with. */
export function switchingProtocols(accept: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
}

export interface RawApp {
  readonly port: number;
  readonly sockets: Socket[];
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * A WebSocket "app" written by hand: once a connection's upgrade head has come, `answer`
 * writes whatever the case needs (the 101, interim answers, frames) with the key's
 * Sec-WebSocket-Accept; everything sent after the head is read and discarded.
 */
export async function startHandshakeApp(answer: (socket: Socket, accept: string) => void): Promise<RawApp> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const match = /Sec-WebSocket-Key: (\S+)/i.exec(head);
      if (!head.includes('\r\n\r\n') || !match) return;
      socket.off('data', onData);
      answer(socket, createHash('sha1').update(match[1] + GUID).digest('base64'));
      socket.resume();
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    server,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A WebSocket "app" that completes handshakes and then ignores everything it is sent. */
export function startSilentApp(): Promise<RawApp> {
  return startHandshakeApp((socket, accept) => socket.write(switchingProtocols(accept)));
}

/** Decodes the first unmasked close frame in `bytes`: code and reason. */
export function parseCloseFrame(bytes: Buffer): { code: number; reason: string } | undefined {
  let pos = 0;
  while (pos + 2 <= bytes.length) {
    const opcode = bytes[pos]! & 0x0f;
    let length = bytes[pos + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(pos + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(pos + 2));
      header = 10;
    }
    if (opcode === 8) {
      const payload = bytes.subarray(pos + header, pos + header + length);
      return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
    }
    pos += header + length;
  }
  return undefined;
}
