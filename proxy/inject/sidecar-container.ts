// The `ws-sidecar` container: hardened, small, probed on its admin port.
import { envNameOf } from '../config/flags.js';
import type { Container, ContainerPort, Handler } from './kube-types.js';

export const SIDECAR_NAME = 'ws-sidecar';
export const DATA_PORT_NAME = 'ws-sidecar';
export const ADMIN_PORT_NAME = 'ws-sidecar-adm';
/** Distroless "nonroot". */
export const SIDECAR_UID = 65532;

export interface SidecarSpec {
  readonly image: string;
  readonly args: readonly string[];
  readonly dataPort: ContainerPort;
  readonly adminPort: ContainerPort;
  readonly drainToken: string;
  readonly native: boolean;
  /** More env, e.g. the downward-API pod name and revision of fleet mode. */
  readonly extraEnv?: readonly object[];
}

/** preStop for the app and the sidecar: GET /drain?wait=1 answers when the clients are gone. */
export function drainHook(adminPort: number, token: string): Handler {
  return {
    httpGet: {
      path: '/drain?wait=1',
      // By number: a hook resolves port names against its own container only.
      port: adminPort,
      scheme: 'HTTP',
      httpHeaders: [{ name: 'Authorization', value: `Bearer ${token}` }],
    },
  };
}

export function sidecarContainer(spec: SidecarSpec): Container {
  const admin = spec.adminPort.containerPort;
  const probe = (path: string, periodSeconds: number, failureThreshold: number): Handler => ({
    httpGet: { path, port: admin, scheme: 'HTTP' },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold,
  });
  return {
    name: SIDECAR_NAME,
    image: spec.image,
    imagePullPolicy: 'IfNotPresent',
    ...(spec.native ? { restartPolicy: 'Always' } : {}),
    args: [...spec.args],
    env: [{ name: envNameOf('drain-token'), value: spec.drainToken }, ...(spec.extraEnv ?? [])],
    ports: [spec.dataPort, spec.adminPort],
    livenessProbe: probe('/healthz', 10, 3),
    readinessProbe: probe('/readyz', 2, 1),
    lifecycle: { preStop: drainHook(admin, spec.drainToken) },
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}
