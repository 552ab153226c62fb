// Which app port the sidecar fronts, and which free ports it listens on.
import { ANNOTATIONS } from './annotations.js';
import { handlerPort, handlersOf, type Container, type PodSpec } from './kube-types.js';

export const PREFERRED_DATA_PORT = 8080;
export const PREFERRED_ADMIN_PORT = 9090;

export interface AppPort {
  readonly containerIndex: number;
  readonly port: number;
  /** Index in the app container's ports when the port is declared there. */
  readonly portIndex?: number;
  /** The declared port's name: it moves to the sidecar (the takeover). */
  readonly name?: string;
}

export type AppPortResult =
  | { readonly ok: true; readonly app: AppPort }
  | { readonly ok: false; readonly reason: 'no_app_port' | 'bad_port'; readonly warning: string };

const isTcp = (protocol: unknown): boolean => protocol === undefined || protocol === 'TCP';

/** Resolves `ws-sidecar.io/port` (name or number) against the regular containers. */
export function resolveAppPort(spec: PodSpec, annotation: string | undefined): AppPortResult {
  const containers = spec.containers;
  if (annotation === undefined) {
    for (const [containerIndex, container] of containers.entries()) {
      const portIndex = (container.ports ?? []).findIndex((port) => isTcp(port.protocol));
      if (portIndex >= 0) return { ok: true, app: declared(container, containerIndex, portIndex) };
    }
    return { ok: false, reason: 'no_app_port', warning: `no container declares a TCP port; set ${ANNOTATIONS.port} to the app's WebSocket port` };
  }
  const text = annotation.trim();
  if (/^\d+$/.test(text)) {
    const port = Number(text);
    if (port < 1 || port > 65535) return badPort(annotation, 'is not a port number (1-65535)');
    for (const [containerIndex, container] of containers.entries()) {
      const portIndex = (container.ports ?? []).findIndex((p) => p.containerPort === port && isTcp(p.protocol));
      if (portIndex >= 0) return { ok: true, app: declared(container, containerIndex, portIndex) };
    }
    return { ok: true, app: { containerIndex: 0, port } };
  }
  for (const [containerIndex, container] of containers.entries()) {
    const portIndex = (container.ports ?? []).findIndex((p) => p.name === text);
    if (portIndex < 0) continue;
    if (!isTcp(container.ports![portIndex]!.protocol)) return badPort(annotation, 'names a non-TCP port');
    return { ok: true, app: declared(container, containerIndex, portIndex) };
  }
  return badPort(annotation, 'names no port of a container');
}

function declared(container: Container, containerIndex: number, portIndex: number): AppPort {
  const port = container.ports![portIndex]!;
  return { containerIndex, port: port.containerPort, portIndex, ...(port.name ? { name: port.name } : {}) };
}

function badPort(value: string, why: string): AppPortResult {
  return { ok: false, reason: 'bad_port', warning: `${ANNOTATIONS.port}: ${JSON.stringify(value)} ${why}; not injected` };
}

function allContainers(spec: PodSpec): Container[] {
  return [...spec.containers, ...(spec.initContainers ?? [])];
}

/** Every port number the pod already uses: declared, host, and probed or hooked by number. */
export function usedPorts(spec: PodSpec): Set<number> {
  const used = new Set<number>();
  for (const container of allContainers(spec)) {
    for (const port of container.ports ?? []) {
      used.add(port.containerPort);
      if (port.hostPort) used.add(port.hostPort);
    }
    for (const handler of handlersOf(container)) {
      const port = handlerPort(handler);
      if (typeof port === 'number') used.add(port);
      else if (typeof port === 'string' && /^\d+$/.test(port)) used.add(Number(port));
    }
  }
  return used;
}

/** Port names must be unique in the pod. */
export function usedPortNames(spec: PodSpec): Set<string> {
  return new Set(allContainers(spec).flatMap((container) => (container.ports ?? []).flatMap((port) => (port.name ? [port.name] : []))));
}

/** The preferred port when free, else the next free one above it (wrapping below 1024 never). */
export function pickPort(preferred: number, used: ReadonlySet<number>): number {
  for (let port = preferred; port <= 65535; port++) if (!used.has(port)) return port;
  for (let port = 1024; port < preferred; port++) if (!used.has(port)) return port;
  throw new Error('no free port in the pod');
}

/** App probes and hooks that named the moved port now use its number (names resolve per container). */
export function rewriteNamedHandlers(container: Container, name: string, port: number): void {
  for (const handler of handlersOf(container)) {
    if (handler.httpGet?.port === name) handler.httpGet.port = port;
    if (handler.tcpSocket?.port === name) handler.tcpSocket.port = port;
  }
}
