// Finding and reading rendered Kubernetes objects in tests: lookups, label selectors, pod parts.
import type { KubeObject } from './kustomize.js';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Kubernetes label-selector semantics: every matchLabels pair and every expression must hold. */
export function selects(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const expressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]!);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]!);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
    }
  });
  return pairs && expressions;
}

/** The one object of that kind (and name, if given); throws if there is not exactly one. */
export function only<T = KubeObject>(objects: KubeObject[], kind: string, name?: string): T & KubeObject {
  const found = objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ' ' + name : ''}, found ${found.length}`);
  return found[0] as T & KubeObject;
}

export interface Port {
  name?: string;
  containerPort: number;
}
export interface HttpGet {
  path: string;
  port: number | string;
  scheme?: string;
  httpHeaders?: Array<{ name: string; value: string }>;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: Port[];
  livenessProbe?: { httpGet?: HttpGet };
  readinessProbe?: { httpGet?: HttpGet };
  lifecycle?: { preStop?: { httpGet?: HttpGet } };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: Container[];
    terminationGracePeriodSeconds?: number;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; seccompProfile?: { type: string } };
    volumes?: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string } }>;
  };
}
export interface Workload {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplate };
}

export function containerOf(template: PodTemplate, name: string): Container {
  const container = template.spec.containers.find((candidate) => candidate.name === name);
  if (!container) throw new Error(`no container ${name}; have ${template.spec.containers.map((c) => c.name).join(', ')}`);
  return container;
}

/** The container port a name or number refers to, searching the given containers. */
export function resolvePort(containers: Container[], port: number | string): { container: string; port: Port } | undefined {
  for (const container of containers) {
    const found = container.ports?.find((candidate) => (typeof port === 'number' ? candidate.containerPort === port : candidate.name === port));
    if (found) return { container: container.name, port: found };
  }
  return undefined;
}
