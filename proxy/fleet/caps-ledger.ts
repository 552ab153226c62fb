// What this pod holds against the fleet caps: every fleet-counted connection, pending
// or live, in all and per tenant. It is the truth the store is re-stated from at each
// heartbeat, and the count the local fallback shares are checked against.

/** The tenant key for connections that are only fleet-counted. */
export const NO_TENANT = '';

export class CapsLedger {
  private heldTotal = 0;
  private readonly perTenant = new Map<string, number>();

  get total(): number {
    return this.heldTotal;
  }

  /** Distinct tenants held (the size of a re-statement). */
  get tenants(): number {
    return this.perTenant.size;
  }

  countOf(tenant: string): number {
    return this.perTenant.get(tenant) ?? 0;
  }

  add(tenant: string): void {
    this.heldTotal++;
    if (tenant !== NO_TENANT) this.perTenant.set(tenant, (this.perTenant.get(tenant) ?? 0) + 1);
  }

  /** Never below 0: a second release of the same slot is a bug, not a reason to undercount. */
  remove(tenant: string): void {
    if (this.heldTotal > 0) this.heldTotal--;
    if (tenant === NO_TENANT) return;
    const count = (this.perTenant.get(tenant) ?? 0) - 1;
    if (count > 0) this.perTenant.set(tenant, count);
    else this.perTenant.delete(tenant);
  }

  /** `total, tenant, count, tenant, count, …` as the re-statement script takes it. */
  statement(): Array<string | number> {
    const args: Array<string | number> = [this.heldTotal];
    for (const [tenant, count] of this.perTenant) args.push(tenant, count);
    return args;
  }
}
