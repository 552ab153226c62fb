// A small round-robin TCP front, standing in for a Kubernetes Service: new
// connections go to the pods in rotation; a pod leaves the rotation when it
// starts terminating (its readiness fails) and existing connections stay.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class RoundRobinBalancer {
  private readonly backends: number[] = [];
  private next = 0;
  private readonly open = new Set<Socket>();
  private server: Server | undefined;
  /** Connections that found no backend that accepted. */
  refused = 0;

  async listen(): Promise<number> {
    this.server = createServer({ pauseOnConnect: true }, (client) => this.route(client, 0));
    this.server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  add(port: number): void {
    if (!this.backends.includes(port)) this.backends.push(port);
  }

  remove(port: number): void {
    const index = this.backends.indexOf(port);
    if (index >= 0) this.backends.splice(index, 1);
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private route(client: Socket, attempt: number): void {
    if (this.backends.length === 0 || attempt >= this.backends.length) {
      this.refused++;
      client.destroy();
      return;
    }
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = connect(port, '127.0.0.1');
    upstream.once('error', () => {
      // Not connected yet: the pod just went away; try the next one.
      if (upstream.connecting || !upstream.remoteAddress) this.route(client, attempt + 1);
    });
    upstream.once('connect', () => this.splice(client, upstream));
  }

  private splice(client: Socket, upstream: Socket): void {
    this.open.add(client);
    this.open.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    // One side reset: reset the other too, as a kernel-level front would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => this.open.delete(client));
    upstream.on('close', () => this.open.delete(upstream));
    client.resume();
  }
}
