// Validates Kubernetes objects against the API schema (kubernetes-models) plus the pod rules
// the schema does not carry: port names (IANA_SVC_NAME, at most 15), unique names and ports.
import { ConfigMap, Pod, Secret, Service } from 'kubernetes-models/v1';
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';

type Validatable = { validate(): void };
type Ctor = new (data: any) => Validatable;

const MODELS: Record<string, Ctor> = {
  'v1/Pod': Pod,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/ReplicaSet': ReplicaSet,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
};

const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

/** Throws with the object's kind and name when it is not valid. */
export function validateKubeObject(object: any): void {
  if (object.kind === 'List') {
    for (const item of object.items ?? []) validateKubeObject(item);
    return;
  }
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  const label = `${object.kind}/${object.metadata?.name ?? object.metadata?.generateName}`;
  try {
    new Model(object).validate();
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}`);
  }
  const podSpec = podSpecOf(object);
  if (podSpec) checkPodRules(podSpec, label);
}

function podSpecOf(object: any): any {
  if (object.kind === 'Pod') return object.spec;
  if (object.kind === 'CronJob') return object.spec?.jobTemplate?.spec?.template?.spec;
  return object.spec?.template?.spec;
}

function checkPodRules(spec: any, label: string): void {
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const names = new Set<string>();
  const portNames = new Set<string>();
  const ports = new Set<string>();
  for (const container of containers) {
    if (names.has(container.name)) throw new Error(`${label}: duplicate container name ${container.name}`);
    names.add(container.name);
    for (const port of container.ports ?? []) {
      if (port.name !== undefined) {
        if (!PORT_NAME.test(port.name)) throw new Error(`${label}: invalid port name ${JSON.stringify(port.name)}`);
        if (portNames.has(port.name)) throw new Error(`${label}: duplicate port name ${port.name}`);
        portNames.add(port.name);
      }
      const key = `${port.containerPort}/${port.protocol ?? 'TCP'}`;
      if (ports.has(key)) throw new Error(`${label}: port ${key} declared twice`);
      ports.add(key);
    }
  }
}
