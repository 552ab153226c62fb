// The port through which admission asks the fleet: admission sits below proxy/fleet/,
// so it names what it needs here and proxy/fleet/ implements it (sidecar.ts wires them).

/** The fleet's answer for one connection. Shadow mode answers 'admitted' and counts instead. */
export type FleetVerdict = 'admitted' | 'rejected_fleet_capacity' | 'rejected_tenant_limit';

export interface FleetAdmission {
  /**
   * Checks and takes a slot for the fleet and the tenant (if any) together, in one store
   * round trip; decides locally on the pod's share when the store is down or slower than
   * `--fleet-timeout`. Settles within that timeout and never rejects.
   */
  acquire(tenant: string | undefined): Promise<FleetVerdict>;
  /** Gives back a slot that acquire() admitted. */
  release(tenant: string | undefined): void;
}
