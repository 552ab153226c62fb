// One "pod" of the rollout demo, in this process: the chat app, and in front of it a real sidecar
// (startSidecar, the same code as the CLI) unless the pod is bare. Terminating it is what
// Kubernetes does with the injected preStop hook: the sidecar drains, then the app stops. A bare
// app stops as most apps do on SIGTERM: its sockets just close, so its clients see 1006.
import type { AddressInfo, Socket } from 'node:net';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import type { FleetView } from '../fleet/fleet-view.js';
import { startSidecar, type RunningSidecar } from '../sidecar.js';
import { createChatApp } from './chat-app.js';

/** Drain flags of the demo's sidecars: a short spread so a rollout is quick to watch. */
export const DEMO_SIDECAR_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  'drain-spread': '2',
  'retry-after': '1.5',
  'close-timeout': '2',
  'drain-timeout': '8',
  'max-connections': '0',
  'log-level': 'warn',
});

/**
 * Fleet flags (--fleet-redis): quick beats and a rebalancer that acts within seconds of a scale
 * out, so the page shows it; a real fleet keeps the defaults (connections a minute old, 1 %/s).
 */
export const DEMO_FLEET_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  'fleet-name': 'demo/chat',
  'fleet-heartbeat': '0.5',
  'fleet-timeout': '0.25',
  rebalance: 'true',
  'rebalance-min-age': '3',
  'rebalance-min-excess': '3',
  'rebalance-rate': '0.1',
});

/** Where a pod's sidecar finds its fleet, and the revision the pod was started as. */
export interface DemoFleet {
  readonly redisUrl: string;
  readonly revision: string;
}

export type PodState = 'starting' | 'running' | 'terminating' | 'gone';

export class DemoPod {
  state: PodState = 'starting';
  private readonly appSockets = new Set<Socket>();
  private sidecar: RunningSidecar | undefined;
  private appPort = 0;
  private readonly app = createChatApp();

  constructor(
    readonly name: string,
    /** false: the pod runs the app alone (the sidecar bypassed). */
    readonly withSidecar: boolean,
    /** Fleet mode for its sidecar; none: a sidecar on its own. */
    private readonly fleet?: DemoFleet,
  ) {
    this.app.on('connection', (socket: Socket) => {
      this.appSockets.add(socket);
      socket.on('close', () => this.appSockets.delete(socket));
    });
  }

  /** Where the front sends connections: the sidecar, or the app itself. */
  get port(): number {
    return this.sidecar?.dataAddress.port ?? this.appPort;
  }

  /** The sidecar's /readyz, for the front to follow; none for a bare app. */
  get readyUrl(): string | undefined {
    return this.sidecar ? `http://127.0.0.1:${this.sidecar.adminAddress.port}/readyz` : undefined;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.app.once('error', reject);
      this.app.listen(0, '127.0.0.1', () => resolve());
    });
    this.appPort = (this.app.address() as AddressInfo).port;
    if (this.withSidecar) {
      const fleetFlags = this.fleet ? { ...DEMO_FLEET_FLAGS, 'fleet-redis': this.fleet.redisUrl, 'pod-name': this.name, revision: this.fleet.revision } : {};
      const flags = { ...DEMO_SIDECAR_FLAGS, ...fleetFlags, listen: '127.0.0.1:0', 'admin-listen': '127.0.0.1:0', upstream: `http://127.0.0.1:${this.appPort}` };
      const result = loadConfig(flags, {});
      if (!result.ok) throw new Error(`demo pod config: ${result.problems.join('; ')}`);
      this.sidecar = await startSidecar(result.config, createLogger(result.config.logLevel));
    }
    this.state = 'running';
  }

  /** WebSocket connections the pod holds: the sidecar's tunnels, or the bare app's sockets. */
  get connections(): number {
    return this.sidecar ? this.sidecar.registry.size : this.appSockets.size;
  }

  /** The fleet as this pod's sidecar sees it (fleet mode only). */
  get fleetView(): FleetView | undefined {
    return this.state === 'running' ? this.sidecar?.fleet?.view() : undefined;
  }

  /** A polite termination: drain through the sidecar, then stop the app. */
  async terminate(): Promise<void> {
    if (this.state === 'gone' || this.state === 'terminating') return;
    this.state = 'terminating';
    if (this.sidecar) {
      await this.sidecar.drain.start('demo rollout');
      await this.sidecar.close();
    }
    await this.stopApp();
  }

  /** No drain: every socket of the pod is gone at once (a SIGKILL, a node lost). */
  async kill(): Promise<void> {
    if (this.state === 'gone') return;
    this.state = 'terminating';
    // Its clients' sockets die first, as with the whole pod gone: no close frame of any kind
    // (were the app's to go first, a live sidecar would answer 1014, which a SIGKILL never does).
    for (const tunnel of this.sidecar?.registry.list() ?? []) tunnel.destroy();
    await Promise.all([this.sidecar?.close(), this.stopApp()]);
  }

  private async stopApp(): Promise<void> {
    for (const socket of this.appSockets) socket.destroy();
    await new Promise<void>((resolve) => this.app.close(() => resolve()));
    this.state = 'gone';
  }
}
