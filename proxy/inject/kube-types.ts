// The few Kubernetes shapes the injector touches; every other field passes through untouched.

/** A JSON object (not null, not an array): what a manifest or review must be before it is read. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export type PortRef = number | string;

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
  hostPort?: number;
  [field: string]: unknown;
}

export interface HttpGetAction {
  path?: string;
  port: PortRef;
  scheme?: string;
  httpHeaders?: Array<{ name: string; value: string }>;
  [field: string]: unknown;
}

export interface Handler {
  httpGet?: HttpGetAction;
  tcpSocket?: { port: PortRef; [field: string]: unknown };
  grpc?: { port: number; [field: string]: unknown };
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  livenessProbe?: Handler;
  readinessProbe?: Handler;
  startupProbe?: Handler;
  lifecycle?: { preStop?: Handler; postStart?: Handler; [field: string]: unknown };
  restartPolicy?: string;
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

/** A Pod, or the pod template of a workload: both are metadata + spec. */
export interface PodLike {
  metadata?: ObjectMeta;
  spec: PodSpec;
  [field: string]: unknown;
}

export const PROBE_FIELDS = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
export const HOOK_FIELDS = ['preStop', 'postStart'] as const;

/** Every handler of a container (probes and lifecycle hooks), for port scans and rewrites. */
export function handlersOf(container: Container): Handler[] {
  const handlers: Handler[] = [];
  for (const field of PROBE_FIELDS) if (container[field]) handlers.push(container[field]!);
  for (const field of HOOK_FIELDS) if (container.lifecycle?.[field]) handlers.push(container.lifecycle[field]!);
  return handlers;
}

export function handlerPort(handler: Handler): PortRef | undefined {
  return handler.httpGet?.port ?? handler.tcpSocket?.port ?? handler.grpc?.port;
}
