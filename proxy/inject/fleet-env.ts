// Fleet mode for an injected pod (a `ws-sidecar.io/fleet-redis` annotation, or --fleet-redis
// given to the injector): the pod's name and revision come from the downward API, and the
// fleet is named `<namespace>/<workload>` unless the pod names it itself.
import { envNameOf } from '../config/flags.js';
import type { ObjectMeta } from './kube-types.js';

export interface EnvVar {
  readonly name: string;
  readonly valueFrom: { readonly fieldRef: { readonly fieldPath: string } };
}

/** Deployments label their pods with `pod-template-hash`; StatefulSets and DaemonSets with `controller-revision-hash`. */
export function revisionLabelOf(workloadKind: string | undefined): string {
  return workloadKind === 'StatefulSet' || workloadKind === 'DaemonSet' ? 'controller-revision-hash' : 'pod-template-hash';
}

export function fleetEnv(revisionLabel: string): EnvVar[] {
  const field = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return [field(envNameOf('pod-name'), 'metadata.name'), field(envNameOf('revision'), `metadata.labels['${revisionLabel}']`)];
}

/**
 * The workload a pod belongs to: the template's owner (`Deployment/chat` → `chat`), else for a
 * pod of a ReplicaSet its generateName without the template hash (`chat-7f9c5d-` → `chat`),
 * else its generateName or name.
 */
export function workloadOf(metadata: ObjectMeta, workloadName: string | undefined): string {
  if (workloadName) return workloadName.slice(workloadName.indexOf('/') + 1);
  const hash = metadata.labels?.['pod-template-hash'];
  const generated = metadata.generateName?.replace(/-$/, '');
  if (generated && hash && generated.endsWith(`-${hash}`)) return generated.slice(0, -hash.length - 1);
  return generated || metadata.name || 'default';
}

/** `<namespace>/<workload>`, within the fleet-name alphabet (letters, digits, . _ / : -). */
export function fleetNameOf(namespace: string, workload: string): string {
  const clean = (text: string): string => text.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 99);
  return `${clean(namespace || 'default')}/${clean(workload)}`;
}
