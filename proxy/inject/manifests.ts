// Multi-document YAML in, YAML out: pod templates of workloads are injected by applying the
// injector's patch to the YAML tree, so untouched documents stay byte for byte and comments stay.
// All inputs of one run are one world: a Service in one file is routed to pods of another.
import { isSeq, parseAllDocuments, type Document } from 'yaml';
import { inject, type InjectOptions, type SkipReason } from './inject.js';
import { isObject, type PodLike } from './kube-types.js';
import { diffOperations } from './patch.js';
import { routeService, type InputPods } from './service-routing.js';
import { injectedSummary, skippedSummary } from './outcome-text.js';

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

export interface ManifestOptions extends InjectOptions {
  /** Leave Services' targetPort alone (warn instead of rewriting). */
  readonly keepTargetPorts?: boolean;
}

export interface ManifestSource {
  readonly text: string;
  /** File name or `<stdin>`, for messages. */
  readonly source: string;
}

export interface ManifestOutcome {
  readonly source: string;
  /** e.g. `Deployment/web` or `List/items[2] Pod/web`. */
  readonly object: string;
  /** What happened to it, one line each: `injected (…)`, `skipped: …`, `port 80: targetPort …`. */
  readonly said: string[];
  readonly warnings: string[];
  readonly skipped?: SkipReason;
}

export type ManifestResult =
  | { readonly ok: true; readonly outputs: string[]; readonly outcomes: ManifestOutcome[] }
  | { readonly ok: false; readonly problems: string[] };

type Path = Array<string | number>;

/** One object of the input (a document, or an item of a List document). */
interface Found {
  readonly doc: Document;
  readonly at: Path;
  readonly object: Record<string, unknown>;
  readonly outcome: ManifestOutcome & { said: string[]; warnings: string[] };
}

export function injectManifests(sources: readonly ManifestSource[], options: ManifestOptions): ManifestResult {
  const parsed = sources.map(({ text, source }) => {
    const documents = parseAllDocuments(text);
    const list = Array.isArray(documents) ? documents : [];
    const problems = list.flatMap((doc) => doc.errors.map((error) => `${source}: ${error.message.split('\n')[0]}`));
    if (!Array.isArray(documents)) problems.push(`${source}: not a YAML stream`);
    return { text, source, list, problems };
  });
  const problems = parsed.flatMap((file) => file.problems);
  if (problems.length > 0) return { ok: false, problems };

  const found = parsed.flatMap((file) => file.list.flatMap((doc) => objectsOf(doc, file.source)));
  const changed = new Set<Document>();
  const pods: Array<InputPods & { found: Found; bypass?: string }> = [];
  for (const item of found) {
    const pod = injectObject(item, options);
    if (!pod) continue;
    pods.push(pod);
    if (pod.routing) changed.add(item.doc);
  }
  const fixed = new Set<InputPods>();
  for (const item of found) {
    if (item.object.kind !== 'Service') continue;
    const metadata = isObject(item.object.metadata) ? item.object.metadata : {};
    const route = routeService(item.object, namespaceOf(metadata, options), pods, options.keepTargetPorts ?? false);
    for (const edit of route.edits) item.doc.setIn([...item.at, 'spec', 'ports', edit.portIndex, 'targetPort'], edit.targetPort);
    if (route.edits.length > 0) changed.add(item.doc);
    item.outcome.said.push(...route.changes);
    item.outcome.warnings.push(...route.warnings);
    for (const pod of route.fixed) fixed.add(pod);
  }
  for (const pod of pods) {
    // The Service was fixed in the input: the generic "a Service must target…" advice is moot.
    if (fixed.has(pod) && pod.bypass) pod.found.outcome.warnings.splice(pod.found.outcome.warnings.indexOf(pod.bypass), 1);
  }

  const outputs = parsed.map(({ text, list }) => {
    let output = '';
    let start = 0;
    for (const doc of list) {
      const end = doc.range[2];
      output += changed.has(doc) ? doc.toString({ lineWidth: 0 }) : text.slice(start, end);
      start = end;
    }
    return output + text.slice(start);
  });
  const outcomes = found.map((item) => item.outcome).filter((outcome) => outcome.said.length > 0 || outcome.warnings.length > 0);
  return { ok: true, outputs, outcomes };
}

function objectsOf(doc: Document, source: string): Found[] {
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isObject(root)) return [];
  const entries: Array<{ at: Path; object: Record<string, unknown>; label: string }> = [];
  if (root.kind === 'List' && Array.isArray(root.items)) {
    root.items.forEach((item, index) => {
      if (isObject(item)) entries.push({ at: ['items', index], object: item, label: `List/items[${index}] ` });
    });
  } else {
    entries.push({ at: [], object: root, label: '' });
  }
  return entries.map(({ at, object, label }) => {
    const metadata = isObject(object.metadata) ? object.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? metadata.generateName : '';
    const kind = typeof object.kind === 'string' ? object.kind : '(no kind)';
    return { doc, at, object, outcome: { source, object: `${label}${kind}/${name || '(unnamed)'}`, said: [], warnings: [] } };
  });
}

function namespaceOf(metadata: Record<string, unknown>, options: InjectOptions): string {
  return typeof metadata.namespace === 'string' ? metadata.namespace : options.namespace ?? '';
}

/** Injects a workload's pod template in place; undefined for objects that hold no pods. */
function injectObject(item: Found, options: InjectOptions): (InputPods & { found: Found; bypass?: string }) | undefined {
  const { doc, at, object, outcome } = item;
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const templatePath = POD_TEMPLATE_PATHS[kind];
  if (!templatePath) return undefined;
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const template = dig(object, templatePath);
  if (!isObject(template) || !isObject(template.spec)) {
    Object.assign(outcome, { skipped: 'no_containers' });
    outcome.said.push(skippedSummary('no_containers'));
    outcome.warnings.push('has no pod template spec; left unchanged');
    return undefined;
  }
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const namespace = namespaceOf(metadata, options);
  const result = inject(template as unknown as PodLike, {
    ...options,
    namespace: namespace || undefined,
    ...(templatePath.length > 0 ? { workloadName: `${kind}/${name}` } : {}),
  });
  outcome.warnings.push(...result.warnings);
  const templateMeta = isObject(template.metadata) ? template.metadata : {};
  const labels = isObject(templateMeta.labels) ? (templateMeta.labels as Record<string, string>) : {};
  const pods = { object: outcome.object, namespace, labels, found: item };
  if (result.skipped || !result.routing) {
    Object.assign(outcome, { skipped: result.skipped });
    outcome.said.push(skippedSummary(result.skipped ?? 'no_containers'));
    return pods;
  }
  outcome.said.push(injectedSummary(result.routing));
  for (const operation of diffOperations(template, result.pod)) {
    const path = [...at, ...templatePath, ...operation.path];
    if (operation.op === 'remove') doc.deleteIn(path);
    else if (operation.op === 'add' && typeof path.at(-1) === 'number' && isSeq(doc.getIn(path.slice(0, -1), true))) {
      doc.addIn(path.slice(0, -1), doc.createNode(operation.value));
    } else doc.setIn(path, doc.createNode(operation.value));
  }
  return { ...pods, routing: result.routing, ...(result.bypass ? { bypass: result.bypass } : {}) };
}

function dig(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}
