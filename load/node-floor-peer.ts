// The floor of any Node proxy (issue 15): what every WebSocket tunnel on Node's
// net.Socket has to do and nothing more. A head read until its blank line (16 KiB at
// most), an upstream connect with TCP_NODELAY on both sides, the head written on with
// an X-Forwarded-For (the peer address costs a getpeername), then bytes relayed both
// ways and both sockets destroyed when either ends. No parse, no limits, no metrics,
// no timers: the bench measures it beside the sidecar so the cost of our own work
// reads as sidecar ÷ floor, and the cost of Node's socket layer as floor ÷ nginx.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

const target = new URL(process.argv[2] ?? '');
if (!target.port) throw new Error('usage: node-floor-peer.ts http://HOST:PORT');
const HEAD_LIMIT = 16 * 1024;

function tunnel(client: Socket, head: Buffer, end: number): void {
  const app = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
  const both = (): void => {
    client.destroy();
    app.destroy();
  };
  app.on('error', both).on('end', both).on('close', both);
  client.on('error', both).on('end', both).on('close', both);
  const forwarded = `${head.toString('latin1', 0, end)}\r\nX-Forwarded-For: ${client.remoteAddress}\r\n\r\n`;
  app.write(forwarded, 'latin1');
  if (head.length > end + 4) app.write(head.subarray(end + 4));
  client.on('data', (chunk: Buffer) => app.write(chunk));
  app.on('data', (chunk: Buffer) => client.write(chunk));
}

const server = createServer({ noDelay: true }, (client) => {
  let head: Buffer = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > HEAD_LIMIT) client.destroy();
      return;
    }
    client.off('data', onHead);
    tunnel(client, head, end);
  };
  client.on('error', () => client.destroy());
  client.on('data', onHead);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
