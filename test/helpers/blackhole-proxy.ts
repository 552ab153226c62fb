// A TCP forwarder in front of a real server that can turn its current connections into a
// black hole (bytes taken in both directions and dropped, sockets kept open: a partition, or a
// failover that left the old address silent) while new connections go through as before.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface BlackholeProxy {
  readonly port: number;
  /** Every connection open now goes silent for good; later ones are forwarded. */
  swallowOpenConnections(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(targetPort: number): Promise<BlackholeProxy> {
  const pairs = new Set<{ client: Socket; server: Socket; silent: boolean }>();
  const proxy: Server = createServer((client) => {
    const server = connect(targetPort, '127.0.0.1');
    const pair = { client, server, silent: false };
    pairs.add(pair);
    const forget = (): void => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', forget).on('close', forget);
    server.on('error', forget).on('close', forget);
    client.on('data', (chunk) => pair.silent || server.write(chunk));
    server.on('data', (chunk) => pair.silent || client.write(chunk));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as AddressInfo).port,
    swallowOpenConnections() {
      for (const pair of pairs) pair.silent = true;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
