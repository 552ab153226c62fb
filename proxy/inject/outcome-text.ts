// What `ws-sidecar inject` says about each object, as `linkerd inject` does: injected, or skipped
// and why, with the way to opt in where that is what is missing. One line per object.
import { ANNOTATIONS, STATUS_INJECTED } from './annotations.js';
import type { PodRouting, SkipReason } from './inject.js';
import { SIDECAR_NAME } from './sidecar-container.js';

const SKIPPED: Readonly<Record<SkipReason, string>> = Object.freeze({
  not_opted_in: `not opted in; add the pod annotation ${ANNOTATIONS.inject}: "true", or pass --all`,
  opted_out: `opted out (${ANNOTATIONS.inject}: "false")`,
  bad_inject_annotation: `${ANNOTATIONS.inject} is neither "true" nor "false"`,
  already_injected: `already injected (${ANNOTATIONS.status}: ${STATUS_INJECTED})`,
  existing_container: `a container is already named ${SIDECAR_NAME}`,
  no_containers: 'no containers',
  host_network: 'hostNetwork',
  no_app_port: `no app port; set ${ANNOTATIONS.port}`,
  bad_port: `${ANNOTATIONS.port} names no usable port`,
});

export function skippedSummary(reason: SkipReason): string {
  return `skipped: ${SKIPPED[reason]}`;
}

export function injectedSummary(routing: PodRouting): string {
  const name = routing.takenOverName === undefined ? '' : `; port name ${routing.takenOverName} moved to the sidecar`;
  return `injected: sidecar port ${routing.dataPort} (admin ${routing.adminPort}) in front of app port ${routing.appPort}${name}`;
}
