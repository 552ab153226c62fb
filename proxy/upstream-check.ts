// Is the app reachable? Checked on demand for /readyz, cached briefly so probes stay cheap.
import { connect } from 'node:net';
import type { Address, UpstreamCheck } from './config.js';

const CACHE_MS = 1000;

export class UpstreamProbe {
  private lastResult = { up: false, reason: 'not checked yet' };
  private lastCheckedAt = -Infinity;
  private inFlight: Promise<{ up: boolean; reason: string }> | undefined;

  constructor(
    private readonly upstream: Address,
    private readonly check: UpstreamCheck,
    private readonly timeoutMs: number,
  ) {}

  /** The last known state, without checking (for metrics). */
  get up(): boolean {
    return this.lastResult.up;
  }

  async probe(): Promise<{ up: boolean; reason: string }> {
    if (performance.now() - this.lastCheckedAt < CACHE_MS) return this.lastResult;
    this.inFlight ??= this.runCheck().then((result) => {
      this.lastResult = result;
      this.lastCheckedAt = performance.now();
      this.inFlight = undefined;
      return result;
    });
    return this.inFlight;
  }

  private runCheck(): Promise<{ up: boolean; reason: string }> {
    void this.check; // http: and ws: checks come with the admin server's readiness work
    return tcpCheck(this.upstream, this.timeoutMs);
  }
}

export function tcpCheck(address: Address, timeoutMs: number): Promise<{ up: boolean; reason: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port });
    const finish = (up: boolean, reason: string): void => {
      socket.destroy();
      resolve({ up, reason });
    };
    socket.setTimeout(timeoutMs, () => finish(false, 'connect timeout'));
    socket.once('connect', () => finish(true, 'ok'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
  });
}
