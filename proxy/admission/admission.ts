// Whether a new WebSocket connection may go to the app. Decisions are values.
// An admitted connection holds a slot (global and per client IP) from the
// decision until both its sockets are gone: first as a pending handshake,
// then as a live tunnel. Failed handshakes give their slot back.
import { createClientIpResolver, type AdmissionRequest, type ClientIpResolver } from './client-ip.js';
import type { Config } from '../config/config.js';
import { CloseCode } from '../protocol/frames.js';
import type { ConnectionOutcome } from '../metrics/metrics.js';
import type { Rejection } from './rejection.js';
import { TokenBucket } from './token-bucket.js';

export type AdmissionDecision =
  | { readonly admitted: true; readonly clientIp: string }
  | { readonly admitted: false; readonly outcome: Exclude<ConnectionOutcome, 'accepted' | 'upstream_failed'>; readonly rejection: Rejection };

/** Readiness recovers below this share of the cap once it was reached. */
const RECOVER_BELOW = 0.9;

export class Admission {
  private pending = 0;
  private readonly perIp = new Map<string, number>();
  private readonly bucket: TokenBucket | undefined;
  private readonly clientIpOf: ClientIpResolver;
  private capacityReached = false;

  constructor(
    private readonly config: Config,
    private readonly isRejectingForDrain: () => boolean,
    private readonly liveTunnels: () => number,
  ) {
    this.clientIpOf = createClientIpResolver(config.trustedProxies);
    if (config.acceptRate > 0) {
      this.bucket = new TokenBucket(config.acceptRate, config.acceptBurst > 0 ? config.acceptBurst : Math.max(1, Math.ceil(config.acceptRate)));
    }
  }

  /** Slots held: pending handshakes plus live tunnels. */
  get held(): number {
    return this.pending + this.liveTunnels();
  }

  get pendingHandshakes(): number {
    return this.pending;
  }

  /** At the cap, and not yet back below 90% of it (for --unready-at-capacity). */
  get atCapacity(): boolean {
    this.updateCapacity();
    return this.capacityReached;
  }

  decide(req: AdmissionRequest): AdmissionDecision {
    const { maxConnections, maxConnectionsPerIp, maxPendingHandshakes } = this.config;
    if (this.isRejectingForDrain()) return this.reject('rejected_draining', 503, CloseCode.serviceRestart, 'draining');
    if (maxPendingHandshakes > 0 && this.pending >= maxPendingHandshakes) {
      return this.reject('rejected_capacity', 503, CloseCode.tryAgainLater, 'too_many_pending_handshakes');
    }
    if (maxConnections > 0 && this.held >= maxConnections) return this.reject('rejected_capacity', 503, CloseCode.tryAgainLater, 'at_capacity');
    const clientIp = this.clientIpOf(req);
    if (maxConnectionsPerIp > 0 && (this.perIp.get(clientIp) ?? 0) >= maxConnectionsPerIp) {
      return this.reject('rejected_client_limit', 429, CloseCode.tryAgainLater, 'client_limit');
    }
    // Last, so a token is spent only on a connection that is otherwise admitted.
    if (this.bucket && !this.bucket.tryTake()) return this.reject('rejected_rate', 429, CloseCode.tryAgainLater, 'rate_limited');
    this.pending++;
    this.perIp.set(clientIp, (this.perIp.get(clientIp) ?? 0) + 1);
    this.updateCapacity();
    return { admitted: true, clientIp };
  }

  /** The app answered (or did not); a tunnel, if any, is in the registry by now. */
  handshakeEnded(clientIp: string, upgraded: boolean): void {
    this.pending--;
    if (!upgraded) this.releaseIp(clientIp);
    this.updateCapacity();
  }

  /** Both sockets of an admitted tunnel are gone. */
  tunnelClosed(clientIp: string): void {
    this.releaseIp(clientIp);
    this.updateCapacity();
  }

  private releaseIp(clientIp: string): void {
    const count = (this.perIp.get(clientIp) ?? 0) - 1;
    if (count > 0) this.perIp.set(clientIp, count);
    else this.perIp.delete(clientIp);
  }

  private updateCapacity(): void {
    const max = this.config.maxConnections;
    if (max === 0) return;
    if (this.held >= max) this.capacityReached = true;
    else if (this.held < max * RECOVER_BELOW) this.capacityReached = false;
  }

  private reject(outcome: Exclude<ConnectionOutcome, 'accepted' | 'upstream_failed'>, status: number, closeCode: number, reason: string): AdmissionDecision {
    return { admitted: false, outcome, rejection: { status, closeCode, reason, retryAfterMs: this.config.retryAfterMs } };
  }
}
