// Services in the same input as the pods they select: a Service that reaches an injected pod's
// app port by number (or by default, targetPort = port) bypasses the sidecar, so its targetPort
// moves to the sidecar's data port. Only when the input shows every pod the Service selects was
// injected alike; otherwise it is left alone and the user is told why.
import { isObject } from './kube-types.js';
import type { PodRouting } from './inject.js';

/** A pod or pod template found in the input, injected in this run or not. */
export interface InputPods {
  /** e.g. `Deployment/web`. */
  readonly object: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Set when this run injected it. */
  readonly routing?: PodRouting;
}

export interface ServiceRoute {
  /** targetPort edits: index in spec.ports → the sidecar's data port. */
  readonly edits: Array<{ readonly portIndex: number; readonly targetPort: number }>;
  /** One line per edit, e.g. `port 80: targetPort 8000 → 8080 (the sidecar of Deployment/web)`. */
  readonly changes: string[];
  readonly warnings: string[];
  /** Injected pods whose traffic this Service now sends through the sidecar. */
  readonly fixed: InputPods[];
}

const NOTHING: ServiceRoute = Object.freeze({ edits: [], changes: [], warnings: [], fixed: [] });

export function selects(selector: Readonly<Record<string, unknown>>, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === String(value));
}

/** An object that names no namespace goes wherever it is applied: it may meet any other. */
function sameNamespace(a: string, b: string): boolean {
  return a === b || a === '' || b === '';
}

/** Decides what to do with one Service; `keep` (--keep-target-ports) only warns. */
export function routeService(service: Record<string, unknown>, namespace: string, pods: readonly InputPods[], keep: boolean): ServiceRoute {
  const spec = isObject(service.spec) ? service.spec : {};
  if (!isObject(spec.selector) || !Array.isArray(spec.ports) || spec.type === 'ExternalName') return NOTHING;
  const selector = spec.selector;
  const selected = pods.filter((pod) => sameNamespace(pod.namespace, namespace) && selects(selector, pod.labels));
  const injected = selected.filter((pod) => pod.routing !== undefined);
  if (injected.length === 0) return NOTHING;

  const edits: ServiceRoute['edits'] = [];
  const changes: string[] = [];
  const warnings: string[] = [];
  const fixed = new Set<InputPods>();
  const others = selected.filter((pod) => pod.routing === undefined);
  spec.ports.forEach((port: unknown, portIndex) => {
    if (!isObject(port) || (port.protocol !== undefined && port.protocol !== 'TCP')) return;
    const target = port.targetPort ?? port.port;
    if (typeof target !== 'number') return; // by name: the takeover already routes it, or it is not ours
    const bypassed = injected.filter((pod) => pod.routing!.appPort === target);
    if (bypassed.length === 0) return;
    const label = `port ${String(port.port)}${typeof port.name === 'string' ? ` (${port.name})` : ''}`;
    const via = port.targetPort === undefined ? 'by default (no targetPort)' : 'by number';
    const names = bypassed.map((pod) => pod.object).join(', ');
    const dataPorts = new Set(injected.map((pod) => pod.routing!.dataPort));
    const dataPort = bypassed[0]!.routing!.dataPort;
    const leftAlone = `targets app port ${target} of ${names} ${via}, so clients bypass the sidecar`;
    if (others.length > 0) {
      warnings.push(`${label} ${leftAlone}; left alone: it also selects ${others.map((pod) => pod.object).join(', ')}, which ${others.length > 1 ? 'were' : 'was'} not injected`);
    } else if (bypassed.length < injected.length || dataPorts.size > 1) {
      warnings.push(`${label} ${leftAlone}; left alone: the pods it selects (${injected.map((pod) => pod.object).join(', ')}) differ in app or sidecar port`);
    } else if (keep) {
      warnings.push(`${label} ${leftAlone}; left alone (--keep-target-ports): set targetPort: ${dataPort}`);
    } else {
      edits.push({ portIndex, targetPort: dataPort });
      const from = port.targetPort === undefined ? `(unset: ${target})` : String(target);
      changes.push(`${label}: targetPort ${from} → ${dataPort}, the sidecar of ${names} (--keep-target-ports leaves it)`);
      for (const pod of bypassed) fixed.add(pod);
    }
  });
  return { edits, changes, warnings, fixed: [...fixed] };
}
