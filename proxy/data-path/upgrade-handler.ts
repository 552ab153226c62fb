// An upgrade request from admission to tunnel: decide, forward the handshake,
// start the tunnel, and give the slot back whatever happens.
import type { Socket } from 'node:net';
import type { Admission, AdmissionDecision, AdmissionTicket } from '../admission/admission.js';
import type { Config } from '../config/config.js';
import { CloseCode } from '../protocol/frames.js';
import { forwardUpgrade, type HandshakeOutcome } from './handshake.js';
import type { Logger } from '../config/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { rejectUpgrade } from '../admission/rejection.js';
import type { Lingering } from './linger.js';
import type { TunnelRegistry } from './registry.js';
import type { DataPlane } from './data-plane.js';
import type { TunnelShape } from './tunnel-shape.js';
import type { UpgradeRequest } from './upgrade-request.js';

export type TunnelOpenedListener = (tunnel: TunnelShape) => void;

export class UpgradeHandler {
  private readonly openedListeners: TunnelOpenedListener[] = [];
  private readonly settledListeners: Array<() => void> = [];
  /** Client sockets of admitted upgrades still waiting for the app's answer. */
  private readonly handshaking = new Set<Socket>();

  constructor(
    private readonly config: Config,
    private readonly admission: Admission,
    private readonly registry: TunnelRegistry,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Non-WebSocket upgrade offers are declined: the request goes to the app as plain HTTP. */
    private readonly declineUpgrade: (req: UpgradeRequest, client: Socket, head: Buffer) => void,
    private readonly dataPlane: DataPlane,
    /** Client sockets answered without a tunnel, until they close or their linger ends (shared with the head reader). */
    private readonly lingering: Lingering,
  ) {}

  onTunnelOpened(listener: TunnelOpenedListener): void {
    this.openedListeners.push(listener);
  }

  /** After every admitted handshake's end, upgraded or not. */
  onHandshakeSettled(listener: () => void): void {
    this.settledListeners.push(listener);
  }

  /** Upgrades admitted and still waiting for the app. */
  get pendingHandshakes(): number {
    return this.handshaking.size;
  }

  /** Gives up every handshake still waiting for the app (drain deadline, shutdown); returns how many. */
  abortHandshakes(): number {
    const count = this.handshaking.size;
    // Their handshakes see the client gone and settle (slot given back) as if it had left.
    for (const client of this.handshaking) client.destroy();
    return count;
  }

  /** Shutdown: nothing this handler holds outlives it. */
  destroyAll(): void {
    this.abortHandshakes();
    this.lingering.destroyAll();
  }

  /** One listener shared by every handshake; a tunnel brings its own. */
  private readonly onHandshakeError = (err: Error): void => this.logger.debug({ err }, 'client socket error during handshake');

  readonly handle = (req: UpgradeRequest, client: Socket, head: Buffer): void => {
    if (!isWebSocketUpgrade(req)) {
      this.declineUpgrade(req, client, head);
      return;
    }
    client.on('error', this.onHandshakeError);
    const decision = this.admission.decide(req);
    if (!decision.admitted) {
      this.refuse(req, client, head, decision);
      return;
    }
    this.handshaking.add(client);
    if (decision.awaitsFleet) this.awaitFleet(req, client, head, decision);
    else this.forward(req, client, head, decision);
  };

  private refuse(req: UpgradeRequest, client: Socket, head: Buffer, decision: Extract<AdmissionDecision, { admitted: false }>): void {
    this.metrics.connectionsTotal.inc({ outcome: decision.outcome });
    rejectUpgrade(req, client, head, this.config.rejectWith, decision.rejection);
    this.lingering.hold(client);
  }

  /** One store round trip, bounded by --fleet-timeout; the ticket holds its pending slot meanwhile. */
  private awaitFleet(req: UpgradeRequest, client: Socket, head: Buffer, ticket: AdmissionTicket): void {
    let gone = false;
    const onGone = (): void => {
      gone = true;
    };
    client.on('close', onGone).on('end', onGone);
    void this.admission.confirm(ticket).then((decision) => {
      client.off('close', onGone).off('end', onGone);
      if (!decision.admitted) {
        // confirm() gave the slots back.
        this.refuse(req, client, head, decision);
        this.settled(client);
      } else if (gone || client.destroyed) {
        this.admission.handshakeEnded(ticket, false);
        this.lingering.hold(client);
        this.settled(client);
      } else {
        this.forward(req, client, head, ticket);
      }
    });
  }

  private forward(req: UpgradeRequest, client: Socket, head: Buffer, ticket: AdmissionTicket): void {
    forwardUpgrade(req, client, this.config, (outcome) => {
      if (outcome.kind === 'upgraded') this.startTunnel(req, client, head, ticket, outcome);
      else this.endWithoutTunnel(req, client, head, ticket, outcome);
      this.settled(client);
    });
  }

  private settled(client: Socket): void {
    this.handshaking.delete(client);
    for (const listener of this.settledListeners) listener();
  }

  private startTunnel(req: UpgradeRequest, client: Socket, head: Buffer, ticket: AdmissionTicket, outcome: Extract<HandshakeOutcome, { kind: 'upgraded' }>): void {
    this.metrics.connectionsTotal.inc({ outcome: 'accepted' });
    this.metrics.upgradeDuration.observe(outcome.durationMs / 1000);
    client.off('error', this.onHandshakeError);
    // Read before the hand-over: a native tunnel's sockets are no longer Node's.
    const remote = this.logger.isLevelEnabled('debug') ? client.remoteAddress : undefined;
    const tunnel = this.dataPlane.open(client, outcome.upstream, head, outcome.upstreamHead, ticket, this.config, this.registry);
    this.registry.add(tunnel);
    this.admission.handshakeEnded(ticket, true);
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ remote, url: req.url, active: this.registry.size, dataPlane: this.dataPlane.name }, 'connection opened');
    }
    for (const listener of this.openedListeners) listener(tunnel);
  }

  private endWithoutTunnel(req: UpgradeRequest, client: Socket, head: Buffer, ticket: AdmissionTicket, outcome: Exclude<HandshakeOutcome, { kind: 'upgraded' }>): void {
    this.admission.handshakeEnded(ticket, false);
    if (outcome.kind === 'client-gone') {
      client.end();
    } else {
      // The app unreachable, too slow, or refusing the upgrade (its answer is relayed as is).
      this.metrics.connectionsTotal.inc({ outcome: 'upstream_failed' });
      if (outcome.kind === 'failed') {
        this.logger.warn({ err: outcome.error, url: req.url }, 'upgrade to the app failed');
        const rejection = { status: 502, closeCode: CloseCode.badGateway, reason: 'upstream_unreachable', retryAfterMs: this.config.retryAfterMs };
        rejectUpgrade(req, client, head, this.config.rejectWith, rejection);
      }
    }
    this.lingering.hold(client);
  }
}

function isWebSocketUpgrade(req: UpgradeRequest): boolean {
  return req.method === 'GET' && /(^|,)\s*websocket\s*(,|$)/i.test(req.headers.upgrade ?? '');
}
