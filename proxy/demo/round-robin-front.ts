// A small round-robin TCP front, standing in for a Kubernetes Service: new connections go to the
// ready backends in rotation and existing connections stay where they are. A backend with a
// readiness URL (a sidecar's /readyz) is in rotation only while that answers 200, probed as a
// kubelet would; `remove` takes one out at once (its pod started terminating).
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const PROBE_TIMEOUT_MS = 1000;
const HALF_CLOSED_TIMEOUT_MS = 5000;

interface Backend {
  readonly port: number;
  readonly readyUrl: string | undefined;
  ready: boolean;
  /** Out of rotation for good (its pod is terminating); forgotten once its last connection closed. */
  removed: boolean;
  /** Client connections spliced to this backend now. */
  open: number;
}

export class RoundRobinFront {
  private readonly backends: Backend[] = [];
  private next = 0;
  private readonly open = new Set<Socket>();
  private server: Server | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** Connections that found no backend that accepted. */
  refused = 0;

  /** `probeIntervalMs` > 0 probes the backends that have a readiness URL that often. */
  constructor(private readonly probeIntervalMs = 0) {}

  async listen(port = 0): Promise<number> {
    this.server = createServer({ pauseOnConnect: true }, (client) => {
      client.on('error', () => client.destroy());
      this.route(client, 0);
    });
    this.server.listen({ port, host: '127.0.0.1', backlog: 4096 });
    await once(this.server, 'listening');
    if (this.probeIntervalMs > 0) this.probeTimer = setInterval(() => this.probeAll(), this.probeIntervalMs);
    return (this.server.address() as AddressInfo).port;
  }

  /** Without a readiness URL the backend is in rotation at once; with one, after its first 200. */
  add(port: number, readyUrl?: string): void {
    if (this.backends.some((backend) => backend.port === port && !backend.removed)) return;
    const backend: Backend = { port, readyUrl, ready: readyUrl === undefined, removed: false, open: 0 };
    this.backends.push(backend);
    if (readyUrl) void this.probe(backend);
  }

  /** Out of rotation at once; its open connections stay (and are still counted). */
  remove(port: number): void {
    const backend = this.backends.find((candidate) => candidate.port === port && !candidate.removed);
    if (backend) backend.removed = true;
    this.forgetIdle();
  }

  /** In rotation now. */
  isReady(port: number): boolean {
    const backend = this.backends.find((candidate) => candidate.port === port && !candidate.removed);
    return backend !== undefined && backend.ready;
  }

  /** Client connections this front holds to that backend now. */
  connectionsTo(port: number): number {
    // A port can come back for a new pod while the old one's last connections close.
    const backend = this.backends.find((candidate) => candidate.port === port && !candidate.removed) ?? this.backends.find((candidate) => candidate.port === port);
    return backend?.open ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.probeTimer);
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private probeAll(): void {
    for (const backend of this.backends) if (backend.readyUrl && !backend.removed) void this.probe(backend);
  }

  private forgetIdle(): void {
    for (let i = this.backends.length - 1; i >= 0; i--) if (this.backends[i]!.removed && this.backends[i]!.open === 0) this.backends.splice(i, 1);
  }

  private probe(backend: Backend): Promise<void> {
    return new Promise((resolve) => {
      const settle = (ready: boolean): void => {
        backend.ready = ready;
        resolve();
      };
      const req = request(backend.readyUrl!, { agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
        res.resume();
        settle(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy(new Error('readiness probe timed out')));
      req.on('error', () => settle(false));
      req.end();
    });
  }

  private route(client: Socket, attempt: number): void {
    const ready = this.backends.filter((backend) => backend.ready && !backend.removed);
    if (ready.length === 0 || attempt >= ready.length) {
      this.refused++;
      client.destroy();
      return;
    }
    const backend = ready[this.next++ % ready.length]!;
    const upstream = connect(backend.port, '127.0.0.1');
    upstream.once('error', () => {
      // Not connected yet: the pod just went away; try the next one.
      if (upstream.connecting || !upstream.remoteAddress) this.route(client, attempt + 1);
    });
    upstream.once('connect', () => {
      // The client may have gone while we connected: nothing to splice, nobody to count.
      if (client.destroyed) upstream.destroy();
      else this.splice(client, upstream, backend);
    });
  }

  private splice(client: Socket, upstream: Socket, backend: Backend): void {
    this.open.add(client);
    this.open.add(upstream);
    backend.open++;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    // One side reset: reset the other too, as a kernel-level front would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    // A pair counts for its backend until either side is gone; a half-closed client that never
    // sends its FIN is cut after a while.
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      backend.open--;
      if (backend.removed) this.forgetIdle();
    };
    client.on('close', () => {
      this.open.delete(client);
      release();
    });
    upstream.on('close', () => {
      this.open.delete(upstream);
      release();
      client.setTimeout(HALF_CLOSED_TIMEOUT_MS, () => client.destroy());
    });
    client.resume();
  }
}
