// Regular container or native sidecar (init container with restartPolicy Always), and why.
import { ANNOTATIONS } from './annotations.js';

export interface KubernetesVersion {
  readonly major: number;
  readonly minor: number;
}

/** Native sidecars are on by default from 1.29 (beta), GA in 1.33. */
export const NATIVE_SIDECAR_MIN: KubernetesVersion = { major: 1, minor: 29 };
/** Services resolve named targetPorts of native sidecars in EndpointSlices from 1.33 (kubernetes#128850). */
export const NATIVE_NAMED_PORT_MIN: KubernetesVersion = { major: 1, minor: 33 };

export function parseKubernetesVersion(raw: string): KubernetesVersion | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(raw.trim());
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

const before = (version: KubernetesVersion, min: KubernetesVersion): boolean =>
  version.major < min.major || (version.major === min.major && version.minor < min.minor);

const show = (version: KubernetesVersion): string => `${version.major}.${version.minor}`;

export interface ModeInput {
  readonly requested: boolean;
  readonly annotation: string | undefined;
  /** The port name the sidecar takes over, if any. */
  readonly takesOverName: string | undefined;
  readonly kubernetesVersion: KubernetesVersion | undefined;
}

export function decideMode(input: ModeInput): { native: boolean; warnings: string[] } {
  const warnings: string[] = [];
  let native = input.requested;
  if (input.annotation !== undefined) {
    const value = input.annotation.trim().toLowerCase();
    if (value === 'true' || value === 'false') native = value === 'true';
    else warnings.push(`annotation ${ANNOTATIONS.nativeSidecar}: ${JSON.stringify(input.annotation)} is not true or false; using ${native}`);
  }
  if (!native) return { native, warnings };
  const version = input.kubernetesVersion;
  if (version && before(version, NATIVE_SIDECAR_MIN)) {
    warnings.push(`native sidecars need Kubernetes ${show(NATIVE_SIDECAR_MIN)}+ (cluster ${show(version)}); injected as a regular container`);
    return { native: false, warnings };
  }
  if (input.takesOverName !== undefined) {
    if (version && before(version, NATIVE_NAMED_PORT_MIN)) {
      warnings.push(`Services reach a native sidecar's named port only on Kubernetes ${show(NATIVE_NAMED_PORT_MIN)}+ (cluster ${show(version)}); injected as a regular container`);
      return { native: false, warnings };
    }
    if (!version) {
      warnings.push(`port ${JSON.stringify(input.takesOverName)} moved to a native sidecar: Services resolve it only on Kubernetes ${show(NATIVE_NAMED_PORT_MIN)}+`);
    }
  }
  return { native, warnings };
}
