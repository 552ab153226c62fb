// Multi-document YAML in, YAML out: pod templates of workloads are injected by applying the
// injector's patch to the YAML tree, so untouched documents stay byte for byte and comments stay.
import { isSeq, parseAllDocuments, type Document } from 'yaml';
import { inject, type InjectOptions, type SkipReason } from './inject.js';
import { isObject, type PodLike } from './kube-types.js';
import { diffOperations } from './patch.js';

/** Where each workload keeps its pod template ([] = the object is the pod). */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
});

export interface ManifestOutcome {
  /** e.g. `Deployment/web` or `List/items[2] Pod/web`. */
  readonly object: string;
  readonly warnings: string[];
  readonly skipped?: SkipReason;
}

export type ManifestResult =
  | { readonly ok: true; readonly output: string; readonly outcomes: ManifestOutcome[] }
  | { readonly ok: false; readonly problems: string[] };

type Path = Array<string | number>;

export function injectManifests(text: string, source: string, options: InjectOptions): ManifestResult {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [];
  const problems = list.flatMap((doc) => doc.errors.map((error) => `${source}: ${error.message.split('\n')[0]}`));
  if (!Array.isArray(documents)) problems.push(`${source}: not a YAML stream`);
  if (problems.length > 0) return { ok: false, problems };

  const outcomes: ManifestOutcome[] = [];
  let output = '';
  let start = 0;
  for (const doc of list) {
    const end = doc.range[2];
    const changed = injectDocument(doc, options, outcomes);
    output += changed ? doc.toString({ lineWidth: 0 }) : text.slice(start, end);
    start = end;
  }
  output += text.slice(start);
  return { ok: true, output, outcomes };
}

function injectDocument(doc: Document, options: InjectOptions, outcomes: ManifestOutcome[]): boolean {
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isObject(root)) return false;
  const targets: Array<{ path: Path; object: Record<string, unknown>; label: string }> = [];
  if (root.kind === 'List' && Array.isArray(root.items)) {
    root.items.forEach((item, index) => {
      if (isObject(item)) targets.push({ path: ['items', index], object: item, label: `List/items[${index}] ` });
    });
  } else {
    targets.push({ path: [], object: root, label: '' });
  }
  let changed = false;
  for (const target of targets) changed = injectObject(doc, target.path, target.object, target.label, options, outcomes) || changed;
  return changed;
}

function injectObject(doc: Document, at: Path, object: Record<string, unknown>, label: string, options: InjectOptions, outcomes: ManifestOutcome[]): boolean {
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const templatePath = POD_TEMPLATE_PATHS[kind];
  if (!templatePath) return false;
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? metadata.generateName : '';
  const describe = `${label}${kind}/${name || '(unnamed)'}`;
  const template = dig(object, templatePath);
  if (!isObject(template) || !isObject(template.spec)) {
    outcomes.push({ object: describe, warnings: ['has no pod template spec; left unchanged'], skipped: 'no_containers' });
    return false;
  }
  const result = inject(template as unknown as PodLike, {
    ...options,
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : options.namespace,
    ...(templatePath.length > 0 ? { workloadName: `${kind}/${name}` } : {}),
  });
  outcomes.push({ object: describe, warnings: result.warnings, ...(result.skipped ? { skipped: result.skipped } : {}) });
  if (result.skipped) return false;
  for (const operation of diffOperations(template, result.pod)) {
    const path = [...at, ...templatePath, ...operation.path];
    if (operation.op === 'remove') doc.deleteIn(path);
    else if (operation.op === 'add' && typeof path.at(-1) === 'number' && isSeq(doc.getIn(path.slice(0, -1), true))) {
      doc.addIn(path.slice(0, -1), doc.createNode(operation.value));
    } else doc.setIn(path, doc.createNode(operation.value));
  }
  return true;
}

function dig(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}
