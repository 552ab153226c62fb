// The per-pod bearer token shared by the sidecar (env) and the app's preStop hook (header).
// HMAC of the pod's identity under a key: the same pod and key always give the same token, so
// output is reproducible; without the key nobody can compute it from the pod's name alone.
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface PodIdentity {
  readonly namespace: string;
  /** metadata.name, else metadata.generateName, else the workload's kind/name. */
  readonly name: string;
}

export function drainToken(identity: PodIdentity, key: string | Buffer): string {
  return createHmac('sha256', key).update(`ws-sidecar drain token\n${identity.namespace}\n${identity.name}`).digest('base64url');
}

/** Key when no --token-seed is given to `inject`: the manifest itself, so reruns give the same output. */
export function contentKey(value: unknown): Buffer {
  return createHash('sha256').update(canonicalJson(value)).digest();
}

/** Key when no --token-seed is given to the webhook: fresh per request, so every pod differs. */
export function randomKey(): Buffer {
  return randomBytes(32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
