// Whether a new WebSocket connection may go to the app. Decisions are values.
// An admitted connection holds a slot (global, per client IP, per tenant and, in
// fleet mode, in the fleet) from the decision until both its sockets are gone:
// first as a pending handshake, then as a live tunnel. Failed handshakes give
// their slots back. The per-pod checks are synchronous and come first; the fleet's
// is one store round trip after them, during which the handshake stays pending.
import { createClientIpResolver, createTrustedPeerCheck, type AdmissionRequest, type ClientIpResolver } from './client-ip.js';
import type { Config } from '../config/config.js';
import { CloseCode } from '../protocol/frames.js';
import type { ConnectionOutcome } from '../metrics/metrics.js';
import type { FleetAdmission, FleetVerdict } from './fleet-admission.js';
import type { Rejection } from './rejection.js';
import { createTenantResolver, type TenantResolver } from './tenant.js';
import { TokenBucket } from './token-bucket.js';

export type RejectedOutcome = Exclude<ConnectionOutcome, 'accepted' | 'upstream_failed'>;

/** An admitted connection's claim on its slots, carried by its handshake and then its tunnel. */
export interface AdmissionTicket {
  readonly admitted: true;
  readonly clientIp: string;
  /** Undefined when the request names no tenant, or no --tenant-from is set. */
  readonly tenant: string | undefined;
  /** True until the fleet has answered: confirm() must be awaited before the handshake goes on. */
  awaitsFleet: boolean;
  /** Holds a fleet slot that must be given back. */
  fleetSlot: boolean;
}

export type AdmissionDecision = AdmissionTicket | { readonly admitted: false; readonly outcome: RejectedOutcome; readonly rejection: Rejection };

/**
 * A reason to refuse every upgrade for now as if at the cap (503 + Retry-After, or
 * close 1013; outcome `rejected_capacity`), e.g. the memory budget's `memory_pressure`;
 * undefined to let admission go on. Declared here; higher areas implement it.
 */
export type CapacityGate = () => string | undefined;

/** Readiness recovers below this share of the cap once it was reached. */
const RECOVER_BELOW = 0.9;

export class Admission {
  private pending = 0;
  private readonly perIp = new Map<string, number>();
  /** Per-pod tenant counts; in fleet mode the fleet counts tenants instead. */
  private readonly perTenant = new Map<string, number>();
  private readonly bucket: TokenBucket | undefined;
  private readonly clientIpOf: ClientIpResolver;
  private readonly tenantOf: TenantResolver | undefined;
  private capacityReached = false;
  private readonly gates: CapacityGate[] = [];

  constructor(
    private readonly config: Config,
    private readonly isRejectingForDrain: () => boolean,
    private readonly liveTunnels: () => number,
    /** Fleet mode only. */
    private readonly fleet?: FleetAdmission,
  ) {
    this.clientIpOf = createClientIpResolver(config.trustedProxies);
    if (config.tenantFrom) this.tenantOf = createTenantResolver(config.tenantFrom, createTrustedPeerCheck(config.trustedProxies));
    if (config.acceptRate > 0) {
      this.bucket = new TokenBucket(config.acceptRate, config.acceptBurst > 0 ? config.acceptBurst : Math.max(1, Math.ceil(config.acceptRate)));
    }
  }

  /** From now on, upgrades are refused as at the cap whenever `gate` gives a reason. */
  addCapacityGate(gate: CapacityGate): void {
    this.gates.push(gate);
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

  /** The per-pod checks. An admitted ticket with `awaitsFleet` must then go through confirm(). */
  decide(req: AdmissionRequest): AdmissionDecision {
    const { maxConnections, maxConnectionsPerIp, maxPendingHandshakes, maxConnectionsPerTenant } = this.config;
    if (this.isRejectingForDrain()) return this.reject('rejected_draining');
    for (const gate of this.gates) {
      const reason = gate();
      if (reason !== undefined) return this.reject('rejected_capacity', reason);
    }
    if (maxPendingHandshakes > 0 && this.pending >= maxPendingHandshakes) return this.reject('rejected_capacity', 'too_many_pending_handshakes');
    if (maxConnections > 0 && this.held >= maxConnections) return this.reject('rejected_capacity');
    const clientIp = this.clientIpOf(req);
    if (maxConnectionsPerIp > 0 && (this.perIp.get(clientIp) ?? 0) >= maxConnectionsPerIp) return this.reject('rejected_client_limit');
    const tenant = this.tenantOf?.(req);
    const perPodTenantCap = this.fleet === undefined && tenant !== undefined && maxConnectionsPerTenant > 0;
    if (perPodTenantCap && (this.perTenant.get(tenant) ?? 0) >= maxConnectionsPerTenant) return this.reject('rejected_tenant_limit');
    // Last of the local checks, so a token is spent only on a connection that is otherwise admitted.
    if (this.bucket && !this.bucket.tryTake()) return this.reject('rejected_rate');
    this.pending++;
    this.perIp.set(clientIp, (this.perIp.get(clientIp) ?? 0) + 1);
    if (perPodTenantCap) this.perTenant.set(tenant, (this.perTenant.get(tenant) ?? 0) + 1);
    this.updateCapacity();
    const awaitsFleet = this.fleet !== undefined && (this.config.fleetMaxConnections > 0 || (tenant !== undefined && maxConnectionsPerTenant > 0));
    return { admitted: true, clientIp, tenant, awaitsFleet, fleetSlot: false };
  }

  /**
   * The fleet's check for a ticket that awaits it. A rejection gives the ticket's slots
   * back; an admitted ticket holds a fleet slot from here on. The caller still owns the
   * ticket: if its client left meanwhile, it ends the handshake (which gives all back).
   */
  async confirm(ticket: AdmissionTicket): Promise<AdmissionDecision> {
    let verdict: FleetVerdict;
    try {
      verdict = await this.fleet!.acquire(ticket.tenant);
    } catch {
      // The port never rejects; if it ever did, err on the side of the caps.
      verdict = 'rejected_fleet_capacity';
    }
    ticket.awaitsFleet = false;
    if (verdict === 'admitted') ticket.fleetSlot = true;
    else {
      this.handshakeEnded(ticket, false);
      return this.reject(verdict);
    }
    // A drain may have begun while the store answered.
    if (this.isRejectingForDrain()) {
      this.handshakeEnded(ticket, false);
      return this.reject('rejected_draining');
    }
    return ticket;
  }

  /** The app answered (or did not); a tunnel, if any, is in the registry by now. */
  handshakeEnded(ticket: AdmissionTicket, upgraded: boolean): void {
    this.pending--;
    if (!upgraded) this.release(ticket);
    this.updateCapacity();
  }

  /** Both sockets of an admitted tunnel are gone. */
  tunnelClosed(ticket: AdmissionTicket): void {
    this.release(ticket);
    this.updateCapacity();
  }

  private release(ticket: AdmissionTicket): void {
    decrement(this.perIp, ticket.clientIp);
    if (ticket.tenant !== undefined && this.perTenant.has(ticket.tenant)) decrement(this.perTenant, ticket.tenant);
    if (ticket.fleetSlot) {
      ticket.fleetSlot = false;
      this.fleet!.release(ticket.tenant);
    }
  }

  private updateCapacity(): void {
    const max = this.config.maxConnections;
    if (max === 0) return;
    if (this.held >= max) this.capacityReached = true;
    else if (this.held < max * RECOVER_BELOW) this.capacityReached = false;
  }

  private reject(outcome: RejectedOutcome, reason?: string): AdmissionDecision {
    const { status, closeCode, reason: usual } = REJECTIONS[outcome];
    return { admitted: false, outcome, rejection: { status, closeCode, reason: reason ?? usual, retryAfterMs: this.config.retryAfterMs } };
  }
}

/** How each outcome is answered: HTTP status (http mode), close code (close mode), machine reason. */
const REJECTIONS: Readonly<Record<RejectedOutcome, { status: number; closeCode: number; reason: string }>> = {
  rejected_draining: { status: 503, closeCode: CloseCode.serviceRestart, reason: 'draining' },
  rejected_capacity: { status: 503, closeCode: CloseCode.tryAgainLater, reason: 'at_capacity' },
  rejected_client_limit: { status: 429, closeCode: CloseCode.tryAgainLater, reason: 'client_limit' },
  rejected_tenant_limit: { status: 429, closeCode: CloseCode.tryAgainLater, reason: 'tenant_limit' },
  rejected_rate: { status: 429, closeCode: CloseCode.tryAgainLater, reason: 'rate_limited' },
  rejected_fleet_capacity: { status: 503, closeCode: CloseCode.tryAgainLater, reason: 'fleet_at_capacity' },
};

function decrement(counts: Map<string, number>, key: string): void {
  const count = (counts.get(key) ?? 0) - 1;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}
