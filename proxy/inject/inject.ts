// The injector: one pure function from a pod (or pod template) to the injected pod.
// Expected outcomes (not opted in, already injected, bad annotations) are values, not exceptions.
import { ANNOTATIONS, decideOptIn, STATUS_INJECTED } from './annotations.js';
import { contentKey, drainToken, randomKey } from './drain-token.js';
import type { Container, ContainerPort, PodLike } from './kube-types.js';
import {
  pickPort,
  PREFERRED_ADMIN_PORT,
  PREFERRED_DATA_PORT,
  resolveAppPort,
  rewriteNamedHandlers,
  usedPortNames,
  usedPorts,
} from './ports.js';
import { ADMIN_PORT_NAME, DATA_PORT_NAME, drainHook, SIDECAR_NAME, sidecarContainer } from './sidecar-container.js';
import { sidecarArgs, sidecarFlags } from './sidecar-flags.js';
import { fleetEnv, fleetNameOf, revisionLabelOf, workloadOf } from './fleet-env.js';
import { decideMode, type KubernetesVersion } from './sidecar-mode.js';

export interface InjectOptions {
  readonly image: string;
  /** Native sidecar unless the pod's annotation says otherwise. */
  readonly nativeSidecar?: boolean;
  /** Inject pods without an opt-in annotation (they may still opt out). */
  readonly all?: boolean;
  /** The pod's namespace carries the opt-in label. */
  readonly namespaceOptedIn?: boolean;
  /** Namespace for the pod's identity when metadata.namespace is absent (webhook: request.namespace). */
  readonly namespace?: string;
  /** Identity of a pod template, e.g. "Deployment/web", used when the template has no name. */
  readonly workloadName?: string;
  /** Sidecar flag defaults (validated by the caller); pod annotations override them. */
  readonly flags?: Readonly<Record<string, string>>;
  /** HMAC key for drain tokens; without one, `content` keys on the manifest and `random` on fresh bytes. */
  readonly tokenSeed?: string;
  readonly tokenFallback?: 'content' | 'random';
  readonly kubernetesVersion?: KubernetesVersion;
}

export type SkipReason =
  | 'not_opted_in'
  | 'opted_out'
  | 'bad_inject_annotation'
  | 'already_injected'
  | 'existing_container'
  | 'no_containers'
  | 'host_network'
  | 'no_app_port'
  | 'bad_port';

/** Where traffic must go for an injected pod: a Service that targets `appPort` bypasses the sidecar. */
export interface PodRouting {
  readonly appPort: number;
  readonly dataPort: number;
  readonly adminPort: number;
  /** The app port's name, now the sidecar's: a Service targeting it by name reaches the sidecar. */
  readonly takenOverName?: string;
}

export interface InjectResult {
  readonly pod: PodLike;
  readonly warnings: string[];
  readonly skipped?: SkipReason;
  readonly routing?: PodRouting;
  /** The warning (one of `warnings`) that no Service finds the sidecar by name; moot once a Service is fixed. */
  readonly bypass?: string;
}

/** Added to drain delay + drain timeout: time for the app's own shutdown after the drain. */
export const GRACE_MARGIN_SECONDS = 10;
const KUBERNETES_DEFAULT_GRACE_SECONDS = 30;

export function inject(input: PodLike, options: InjectOptions): InjectResult {
  const original = JSON.parse(JSON.stringify(input)) as PodLike;
  const pod = JSON.parse(JSON.stringify(input)) as PodLike;
  const skip = (skipped: SkipReason, warning?: string): InjectResult => ({ pod: original, warnings: warning ? [warning] : [], skipped });

  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[ANNOTATIONS.status] === STATUS_INJECTED) return skip('already_injected');
  const optIn = decideOptIn(annotations, options.namespaceOptedIn ?? false, options.all ?? false);
  if (!optIn.inject) {
    const bad = optIn.reason === 'bad_inject_annotation';
    return skip(optIn.reason!, bad ? `annotation ${ANNOTATIONS.inject}: ${JSON.stringify(annotations[ANNOTATIONS.inject])} is not true or false; not injected` : undefined);
  }
  const spec = pod.spec;
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) return skip('no_containers', 'the pod has no containers; not injected');
  if ([...spec.containers, ...(spec.initContainers ?? [])].some((container) => container.name === SIDECAR_NAME)) {
    return skip('existing_container', `the pod already has a container named ${SIDECAR_NAME} but no ${ANNOTATIONS.status} annotation; not injected`);
  }
  if (spec.hostNetwork) return skip('host_network', 'hostNetwork pods share the node\'s ports; not injected');

  const portAnnotation = annotations[ANNOTATIONS.port];
  const resolved = resolveAppPort(spec, portAnnotation === undefined ? undefined : String(portAnnotation));
  if (!resolved.ok) return skip(resolved.reason, resolved.warning);
  const app = resolved.app;
  const appContainer = spec.containers[app.containerIndex]!;

  const flags = sidecarFlags(annotations, options.flags ?? {});
  const warnings = [...flags.warnings];
  const mode = decideMode({
    requested: options.nativeSidecar ?? false,
    annotation: annotations[ANNOTATIONS.nativeSidecar] === undefined ? undefined : String(annotations[ANNOTATIONS.nativeSidecar]),
    takesOverName: app.name,
    kubernetesVersion: options.kubernetesVersion,
  });
  warnings.push(...mode.warnings);

  const used = usedPorts(spec);
  used.add(app.port);
  const dataPortNumber = pickPort(PREFERRED_DATA_PORT, used);
  used.add(dataPortNumber);
  const adminPortNumber = pickPort(PREFERRED_ADMIN_PORT, used);
  const names = usedPortNames(spec);

  const takenOverName = app.portIndex !== undefined ? app.name : undefined;
  const routing: PodRouting = { appPort: app.port, dataPort: dataPortNumber, adminPort: adminPortNumber, ...(takenOverName ? { takenOverName } : {}) };
  let dataName: string | undefined;
  let bypass: string | undefined;
  if (takenOverName !== undefined) {
    // The takeover: a Service whose targetPort is this name now reaches the sidecar.
    delete appContainer.ports![app.portIndex!]!.name;
    dataName = takenOverName;
    rewriteNamedHandlers(appContainer, takenOverName, app.port);
  } else {
    dataName = names.has(DATA_PORT_NAME) ? undefined : DATA_PORT_NAME;
    bypass = `app port ${app.port} has no name: a Service must target the sidecar port ${dataPortNumber} (or name ${dataName ?? 'it'}), else clients bypass the sidecar`;
    warnings.push(bypass);
  }
  const dataPort = namedPort(dataName, dataPortNumber);
  const adminPort = namedPort(names.has(ADMIN_PORT_NAME) ? undefined : ADMIN_PORT_NAME, adminPortNumber);

  const metadata = (pod.metadata ??= {});
  const identity = {
    namespace: metadata.namespace ?? options.namespace ?? '',
    name: metadata.name ?? metadata.generateName ?? options.workloadName ?? '',
  };
  const key = options.tokenSeed ?? (options.tokenFallback === 'random' ? randomKey() : contentKey(original));
  const token = drainToken(identity, key);

  addAppPreStop(appContainer, adminPortNumber, token, mode.native, warnings);
  const values: Record<string, string> = {
    ...flags.values,
    listen: `0.0.0.0:${dataPortNumber}`,
    'admin-listen': `0.0.0.0:${adminPortNumber}`,
    upstream: `http://127.0.0.1:${app.port}`,
  };
  const fleetMode = flags.config.fleetRedis !== undefined;
  if (fleetMode && values['fleet-name'] === undefined) values['fleet-name'] = fleetNameOf(identity.namespace, workloadOf(metadata, options.workloadName));
  const extraEnv = fleetMode ? fleetEnv(revisionLabelOf(options.workloadName?.split('/')[0])) : [];
  const sidecar = sidecarContainer({ image: options.image, args: sidecarArgs(values), dataPort, adminPort, drainToken: token, native: mode.native, extraEnv });
  if (mode.native) (spec.initContainers ??= []).push(sidecar);
  else spec.containers.push(sidecar);

  if (!mode.native && spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
    warnings.push(`restartPolicy ${String(spec.restartPolicy)}: a regular sidecar keeps running after the app exits; use a native sidecar`);
  }
  const neededSeconds = Math.ceil((flags.config.drainDelayMs + flags.config.drainTimeoutMs) / 1000) + GRACE_MARGIN_SECONDS;
  if ((spec.terminationGracePeriodSeconds ?? KUBERNETES_DEFAULT_GRACE_SECONDS) < neededSeconds) spec.terminationGracePeriodSeconds = neededSeconds;
  (metadata.annotations ??= {})[ANNOTATIONS.status] = STATUS_INJECTED;
  return { pod, warnings, routing, ...(bypass ? { bypass } : {}) };
}

function addAppPreStop(app: Container, adminPort: number, token: string, native: boolean, warnings: string[]): void {
  if (app.lifecycle?.preStop) {
    // A native sidecar is stopped (and runs its hook) only after the app has exited.
    const when = native ? 'only after the app has exited' : "from the sidecar's own hook";
    warnings.push(`container ${app.name} keeps its own preStop hook; the drain starts ${when}`);
    return;
  }
  (app.lifecycle ??= {}).preStop = drainHook(adminPort, token);
}

function namedPort(name: string | undefined, containerPort: number): ContainerPort {
  return { ...(name === undefined ? {} : { name }), containerPort, protocol: 'TCP' };
}
