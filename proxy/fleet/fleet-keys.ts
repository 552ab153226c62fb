// The keys of one fleet. All of them share the hash tag `{ws-sidecar:<fleet>}`, so a
// script may touch any of them and a Redis Cluster keeps a fleet on one slot.

export interface FleetKeys {
  /** The hash tag itself, for parts that add keys of their own: `${tag}:name`. */
  readonly tag: string;
  /** Sorted set: pod → lease expiry, in the Redis server's milliseconds. */
  readonly leases: string;
  /** Hash: pod → JSON of its last heartbeat (connections, cap, revision, ready, draining, renewedAtMs). */
  readonly pods: string;
}

export function fleetKeys(fleetName: string): FleetKeys {
  // Names are checked by the config (no braces), so the tag is exactly this.
  const tag = `{ws-sidecar:${fleetName}}`;
  return Object.freeze({ tag, leases: `${tag}:leases`, pods: `${tag}:pods` });
}
