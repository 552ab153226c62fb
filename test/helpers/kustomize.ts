// Renders the kustomizations under deploy/ with the real kubectl and validates each object
// against its Kubernetes (or CRD) model from the kubernetes-models packages, offline.
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

/** Why kustomize tests cannot run here, or undefined when kubectl is on the PATH. */
export const KUBECTL_MISSING: string | undefined =
  spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0
    ? undefined
    : 'kubectl is not installed: the kustomizations under deploy/ cannot be rendered (install kubectl to run these tests)';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Every folder under deploy/ holding a kustomization.yaml, relative to deploy/. */
export function findKustomizations(dir = DEPLOY_DIR): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findKustomizations(path));
    else if (entry === 'kustomization.yaml') found.push(relative(DEPLOY_DIR, dir));
  }
  return found.sort();
}

export async function renderKustomization(relativeDir: string): Promise<KubeObject[]> {
  const { stdout } = await promisify(execFile)('kubectl', ['kustomize', join(DEPLOY_DIR, relativeDir)], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${relativeDir} printed bad YAML: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

// apiVersion group → the package whose models cover it; `networking.k8s.io/v1` → `networking.k8s.io/v1`
// export path, the core group `v1` → `v1`.
const MODEL_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'cert-manager.io': '@kubernetes-models/cert-manager',
  'keda.sh': '@kubernetes-models/keda',
};

type ModelClass = new (data: unknown) => { validate(): void };

export async function modelOf(object: Pick<KubeObject, 'apiVersion' | 'kind'>): Promise<ModelClass> {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
  const pkg = MODEL_PACKAGES[group] ?? 'kubernetes-models';
  const module = (await import(`${pkg}/${object.apiVersion}`)) as Record<string, ModelClass | undefined>;
  const model = module[object.kind];
  if (!model) throw new Error(`no model for ${object.apiVersion} ${object.kind} in ${pkg}`);
  return model;
}

/** Throws with the schema's complaint when the object does not validate. */
export async function validateObject(object: KubeObject): Promise<void> {
  const Model = await modelOf(object);
  try {
    new Model(object).validate();
  } catch (err) {
    throw new Error(`${object.kind}/${object.metadata?.name}: ${(err as Error).message}`);
  }
}
