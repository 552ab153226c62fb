// Is the app reachable? Checked on demand for /readyz, cached briefly so probes stay cheap.
// `tcp` connects; `http:/path` wants a 2xx; `ws:/path` does a real WebSocket handshake
// and closes it cleanly, so an app that stopped accepting upgrades is seen as down.
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { formatAddress, formatCheck, type Address, type UpstreamCheck } from '../config/config.js';

const CACHE_MS = 1000;

export interface UpstreamState {
  readonly up: boolean;
  /** `ok`, or why the check failed: an errno code, `status 500`, `timeout`... */
  readonly reason: string;
  /** Wall-clock time of the check; 0 before the first one. */
  readonly checkedAtMs: number;
}

type CheckResult = Omit<UpstreamState, 'checkedAtMs'>;

export class UpstreamProbe {
  private lastResult: UpstreamState = { up: false, reason: 'not_checked_yet', checkedAtMs: 0 };
  private lastCheckedAt = -Infinity;
  private inFlight: Promise<UpstreamState> | undefined;
  // One keep-alive-free dispatcher of our own: a check never holds a connection to the app.
  private readonly agent = new Agent({ pipelining: 0 });

  constructor(
    private readonly upstream: Address,
    private readonly check: UpstreamCheck,
    private readonly timeoutMs: number,
  ) {}

  /** The last known state, without checking (for metrics). */
  get up(): boolean {
    return this.lastResult.up;
  }

  get last(): UpstreamState {
    return this.lastResult;
  }

  /** `tcp`, `http:/path` or `ws:/path`, as configured. */
  get description(): string {
    return formatCheck(this.check);
  }

  async probe(): Promise<UpstreamState> {
    if (performance.now() - this.lastCheckedAt < CACHE_MS) return this.lastResult;
    this.inFlight ??= this.runCheck()
      .then((result) => {
        this.lastResult = { ...result, checkedAtMs: Date.now() };
        this.lastCheckedAt = performance.now();
        return this.lastResult;
      })
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Drops a check under way: the sidecar is stopping. */
  close(): Promise<void> {
    return this.agent.destroy();
  }

  private runCheck(): Promise<CheckResult> {
    switch (this.check.kind) {
      case 'tcp':
        return tcpCheck(this.upstream, this.timeoutMs);
      case 'http':
        return httpCheck(this.upstream, this.check.path, this.timeoutMs, this.agent);
      case 'ws':
        return wsCheck(this.upstream, this.check.path, this.timeoutMs);
    }
  }
}

export function tcpCheck(address: Address, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port });
    const finish = (up: boolean, reason: string): void => {
      socket.destroy();
      resolve({ up, reason });
    };
    socket.setTimeout(timeoutMs, () => finish(false, 'timeout'));
    socket.once('connect', () => finish(true, 'ok'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
  });
}

/** GET the path; any 2xx is up. The body is read and dropped. */
export async function httpCheck(address: Address, path: string, timeoutMs: number, dispatcher?: Agent): Promise<CheckResult> {
  try {
    const response = await request(new URL(path, originOf('http', address)), {
      method: 'GET',
      headers: { 'user-agent': 'ws-sidecar-upstream-check' },
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher,
    });
    await response.body.dump();
    const up = response.statusCode >= 200 && response.statusCode < 300;
    return { up, reason: up ? 'ok' : `status ${response.statusCode}` };
  } catch (err) {
    return { up: false, reason: errorReason(err) };
  }
}

/** Opens a WebSocket to the path and closes it with 1000; up once the app has said 101. */
export function wsCheck(address: Address, path: string, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(new URL(path, originOf('ws', address)), {
      handshakeTimeout: timeoutMs,
      perMessageDeflate: false,
      headers: { 'user-agent': 'ws-sidecar-upstream-check' },
    });
    let settled = false;
    const finish = (up: boolean, reason: string): void => {
      if (settled) return;
      settled = true;
      resolve({ up, reason });
    };
    ws.on('error', (err) => {
      finish(false, errorReason(err));
      ws.terminate();
    });
    ws.once('unexpected-response', (_req, res) => {
      finish(false, `status ${res.statusCode ?? 0}`);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      finish(true, 'ok');
      ws.close(1000, 'readiness check');
      // An app that never answers the close does not keep the socket.
      setTimeout(() => ws.terminate(), timeoutMs).unref();
    });
  });
}

function originOf(scheme: 'http' | 'ws', address: Address): string {
  return `${scheme}://${formatAddress(address)}`;
}

function errorReason(err: unknown): string {
  const error = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if (error.name === 'TimeoutError' || /timeout|timed out/i.test(error.message ?? '')) return 'timeout';
  return error.code ?? error.cause?.code ?? error.message ?? 'error';
}
