// Every annotation and label key the injector reads or writes, in one place.
import { findRunFlag, type FlagSpec } from '../config/flags.js';

export const ANNOTATION_PREFIX = 'ws-sidecar.io/';

export const ANNOTATIONS = Object.freeze({
  /** Pod opt-in / opt-out: "true" or "false". */
  inject: 'ws-sidecar.io/inject',
  /** The app port the sidecar fronts: a port name or number. */
  port: 'ws-sidecar.io/port',
  /** Written by the injector; its presence makes injection idempotent. */
  status: 'ws-sidecar.io/status',
  /** "true": the sidecar becomes an init container with restartPolicy Always. */
  nativeSidecar: 'ws-sidecar.io/native-sidecar',
  /** The sidecar's memory limit (e.g. "256Mi"): the connection cap is derived from it. */
  memoryLimit: 'ws-sidecar.io/memory-limit',
});

/** Namespace label that opts every pod of the namespace in (pods may still say "false"). */
export const NAMESPACE_LABEL = 'ws-sidecar.io/inject';
export const NAMESPACE_LABEL_ENABLED = 'enabled';
export const STATUS_INJECTED = 'injected';

/** Flags whose values the injector derives from the pod; an annotation cannot set them. */
export const INJECTOR_OWNED_FLAGS: readonly string[] = ['listen', 'admin-listen', 'upstream', 'drain-token'];

const RESERVED = new Set<string>(Object.values(ANNOTATIONS));

export type FlagAnnotation =
  | { readonly kind: 'flag'; readonly key: string; readonly spec: FlagSpec; readonly value: string }
  | { readonly kind: 'unknown' | 'owned'; readonly key: string };

/** `ws-sidecar.io/max-connections: "500"` → the run flag it sets; other keys are not ours. */
export function flagAnnotations(annotations: Readonly<Record<string, string>>): FlagAnnotation[] {
  const found: FlagAnnotation[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX) || RESERVED.has(key)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    const spec = findRunFlag(name);
    if (!spec) found.push({ kind: 'unknown', key });
    else if (INJECTOR_OWNED_FLAGS.includes(name)) found.push({ kind: 'owned', key });
    else found.push({ kind: 'flag', key, spec, value: String(value) });
  }
  return found;
}

export type OptIn = { readonly inject: boolean; readonly reason?: 'not_opted_in' | 'opted_out' | 'bad_inject_annotation' };

/** Pod annotation wins over the namespace label and over --all. */
export function decideOptIn(annotations: Readonly<Record<string, string>>, namespaceOptedIn: boolean, all: boolean): OptIn {
  const raw = annotations[ANNOTATIONS.inject];
  if (raw === undefined) return namespaceOptedIn || all ? { inject: true } : { inject: false, reason: 'not_opted_in' };
  const value = String(raw).trim().toLowerCase();
  if (value === 'true') return { inject: true };
  if (value === 'false') return { inject: false, reason: 'opted_out' };
  return { inject: false, reason: 'bad_inject_annotation' };
}
