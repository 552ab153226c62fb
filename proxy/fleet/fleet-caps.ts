// Fleet-wide and per-tenant connection caps: admission's FleetAdmission port on the store.
// One store round trip per admission (caps-acquire checks and takes both slots); one per
// close; one re-statement of the whole ledger per heartbeat, which heals whatever the
// store lost or miscounted. When the store is down or slower than --fleet-timeout, the
// decision is local, on this pod's share of each cap (cap ÷ pods last seen).
import type { FleetAdmission, FleetVerdict } from '../admission/fleet-admission.js';
import type { Logger } from '../config/logger.js';
import { CapsLedger, NO_TENANT } from './caps-ledger.js';
import { CAPS_SCRIPT } from './caps-scripts.js';
import type { FleetKeys } from './fleet-keys.js';
import type { FleetStore, StoreReply } from './store.js';

export type ShadowedRejection = Exclude<FleetVerdict, 'admitted'>;

export interface FleetCapsCounters {
  /** A decision taken without the store. */
  localDecision(): void;
  /** A rejection --fleet-shadow let through. */
  shadowed(action: ShadowedRejection): void;
}

export interface FleetCapsOptions {
  readonly store: FleetStore;
  readonly keys: FleetKeys;
  readonly podName: string;
  /** 0 = no fleet cap. */
  readonly fleetMaxConnections: number;
  /** 0 = no tenant cap. */
  readonly maxConnectionsPerTenant: number;
  readonly shadow: boolean;
  readonly timeoutMs: number;
  readonly leaseMs: number;
  /** Live pods in the last fleet view (1 until there is one). */
  readonly podsLastSeen: () => number;
  readonly counters: FleetCapsCounters;
  readonly logger: Logger;
}

/** What the last re-statement found, for /fleet. No tenant names. */
export interface CapsView {
  readonly maxConnections: number;
  readonly maxConnectionsPerTenant: number;
  /** The fleet's capped connections; undefined until the store has answered a re-statement. */
  readonly connections: number | undefined;
  readonly tenantsAtLimit: number | undefined;
  /** This pod's own: what it holds, and its share of each cap while the store is down. */
  readonly held: number;
  /** Handshakes of this pod waiting for the store's verdict right now. */
  readonly awaitingStore: number;
  /** 0 where there is no such cap. */
  readonly localShare: { readonly connections: number; readonly perTenant: number };
  readonly shadow: boolean;
}

const VERDICTS: readonly FleetVerdict[] = ['admitted', 'rejected_fleet_capacity', 'rejected_tenant_limit'];

export class FleetCaps implements FleetAdmission {
  private readonly ledger = new CapsLedger();
  /** Acquisitions the ledger counts whose verdict has not come yet. */
  private readonly awaiting = new CapsLedger();
  /**
   * Releases not sent yet: those of one turn of the event loop go in one call, so a mass close
   * (a drain, a network blip) is a few calls, not one per connection beyond the store's queue.
   */
  private unsent = new CapsLedger();
  private flushScheduled = false;
  private readonly keys: readonly string[];
  private readonly ledgerPrefix: string;
  /** Re-statements sent so far: an acquire that overlapped one may need a compensating release. */
  private restatements = 0;
  private lastTotal: number | undefined;
  private lastAtLimit: number | undefined;

  constructor(private readonly options: FleetCapsOptions) {
    const { tag } = options.keys;
    this.ledgerPrefix = `${tag}:caps:ledger:`;
    this.keys = Object.freeze([`${tag}:caps:total`, `${tag}:caps:tenants`, `${tag}:caps:ledgers`, this.ledgerPrefix + options.podName]);
  }

  async acquire(tenant: string | undefined): Promise<FleetVerdict> {
    const key = this.tenantKey(tenant);
    const { store, podName, fleetMaxConnections, maxConnectionsPerTenant, shadow, timeoutMs, leaseMs } = this.options;
    // Counted before the call: a re-statement sent while it is in flight must include it.
    this.ledger.add(key);
    this.awaiting.add(key);
    const restatedBefore = this.restatements;
    let answer: { verdict: FleetVerdict; taken: boolean } | undefined;
    try {
      answer = parseAcquire(await store.run(CAPS_SCRIPT, this.keys, ['acquire', podName, fleetMaxConnections, maxConnectionsPerTenant, key, shadow ? '1' : '0', leaseMs, this.ledgerPrefix], timeoutMs));
    } catch {
      answer = undefined;
    }
    this.awaiting.remove(key);
    if (answer === undefined) {
      this.options.counters.localDecision();
      return this.settle(key, this.localVerdict(key));
    }
    const { verdict, taken } = answer;
    if (!taken) {
      this.ledger.remove(key);
      // A re-statement sent meanwhile counted a slot the store then refused: take it back.
      if (this.restatements !== restatedBefore) this.sendRelease(key);
      return verdict;
    }
    if (verdict !== 'admitted') this.options.counters.shadowed(verdict);
    return 'admitted';
  }

  release(tenant: string | undefined): void {
    const key = this.tenantKey(tenant);
    this.ledger.remove(key);
    this.sendRelease(key);
  }

  /** Each heartbeat: the store is told the whole ledger; its answer is the fleet view of the caps. */
  async restate(): Promise<void> {
    const { store, podName, leaseMs, maxConnectionsPerTenant } = this.options;
    this.restatements++;
    // The statement already leaves them out: sent after it, they would be given back twice.
    this.unsent = new CapsLedger();
    try {
      const reply = await store.run(CAPS_SCRIPT, this.keys, ['restate', podName, leaseMs, this.ledgerPrefix, maxConnectionsPerTenant, ...this.ledger.statement()]);
      if (Array.isArray(reply) && typeof reply[0] === 'number' && typeof reply[1] === 'number') {
        this.lastTotal = reply[0];
        this.lastAtLimit = reply[1];
      }
    } catch (err) {
      this.options.logger.debug({ err }, 'fleet caps re-statement failed');
    }
  }

  /** Leaving on purpose (after a drain): this pod's slots come back at once, not at lease expiry. */
  async leave(): Promise<void> {
    try {
      await this.options.store.run(CAPS_SCRIPT, this.keys, ['leave', this.options.podName, this.ledgerPrefix]);
    } catch (err) {
      this.options.logger.warn({ err }, 'fleet caps could not give this pod\'s slots back: its lease will expire');
    }
  }

  get view(): CapsView {
    const { fleetMaxConnections, maxConnectionsPerTenant, shadow } = this.options;
    return {
      maxConnections: fleetMaxConnections,
      maxConnectionsPerTenant,
      connections: this.lastTotal,
      tenantsAtLimit: maxConnectionsPerTenant > 0 ? this.lastAtLimit : 0,
      held: this.ledger.total,
      awaitingStore: this.awaiting.total,
      localShare: { connections: shownShare(fleetMaxConnections, this.options.podsLastSeen()), perTenant: shownShare(maxConnectionsPerTenant, this.options.podsLastSeen()) },
      shadow,
    };
  }

  /**
   * Against everything this pod holds, this connection and the others still awaiting their
   * verdict included (the store may yet admit those): over the share means one too many. So
   * a pod whose calls fail while others' succeed cannot add its whole share on top of them.
   */
  private localVerdict(key: string): FleetVerdict {
    const { fleetMaxConnections, maxConnectionsPerTenant } = this.options;
    const pods = this.options.podsLastSeen();
    if (fleetMaxConnections > 0 && this.ledger.total > shareOf(fleetMaxConnections, pods)) return 'rejected_fleet_capacity';
    if (key !== NO_TENANT && this.ledger.countOf(key) > shareOf(maxConnectionsPerTenant, pods)) return 'rejected_tenant_limit';
    return 'admitted';
  }

  private settle(key: string, verdict: FleetVerdict): FleetVerdict {
    if (verdict === 'admitted') return verdict;
    if (this.options.shadow) {
      this.options.counters.shadowed(verdict);
      return 'admitted';
    }
    this.ledger.remove(key);
    return verdict;
  }

  private sendRelease(key: string): void {
    this.unsent.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushReleases);
  }

  private readonly flushReleases = (): void => {
    this.flushScheduled = false;
    if (this.unsent.total === 0) return;
    const statement = this.unsent.statement();
    this.unsent = new CapsLedger();
    // A lost release is healed by the next re-statement.
    this.options.store.run(CAPS_SCRIPT, this.keys, ['release', ...statement]).catch((err: unknown) => this.options.logger.debug({ err }, 'fleet caps release failed'));
  };

  /** Tenants count only when they are capped. */
  private tenantKey(tenant: string | undefined): string {
    return tenant !== undefined && this.options.maxConnectionsPerTenant > 0 ? tenant : NO_TENANT;
  }
}

/** [verdict, taken] as the script answers; anything else counts as no answer. */
function parseAcquire(reply: StoreReply): { verdict: FleetVerdict; taken: boolean } | undefined {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') return undefined;
  const verdict = VERDICTS[reply[0]];
  return verdict === undefined ? undefined : { verdict, taken: reply[1] === 1 };
}

/** A pod's share of a cap while the store is down: never 0 (a pod alone must admit someone). */
export function shareOf(cap: number, pods: number): number {
  if (cap === 0) return Infinity;
  return Math.max(1, Math.floor(cap / Math.max(1, pods)));
}

function shownShare(cap: number, pods: number): number {
  return cap === 0 ? 0 : shareOf(cap, pods);
}
