// AdmissionReview in → AdmissionReview out. Pure: the webhook server only moves bytes.
// Never denies: a pod we cannot or should not inject is allowed unchanged, with warnings.
import { inject, type InjectOptions, type InjectResult } from './inject.js';
import { isObject, type PodLike } from './kube-types.js';
import { createPatch } from './patch.js';

export const ADMISSION_API_VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];
export const WARNING_PREFIX = 'ws-sidecar: ';

export interface AdmissionResponse {
  readonly apiVersion: string;
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: true;
    readonly patchType?: 'JSONPatch';
    readonly patch?: string;
    readonly warnings?: string[];
  };
}

export type ReviewOutcome =
  | { readonly ok: true; readonly review: AdmissionResponse; readonly result?: InjectResult; readonly namespace?: string }
  | { readonly ok: false; readonly problem: string };

interface RequestShape {
  uid?: unknown;
  kind?: { kind?: unknown };
  resource?: { resource?: unknown };
  subResource?: unknown;
  operation?: unknown;
  namespace?: unknown;
  object?: unknown;
}

export function reviewAdmission(body: unknown, options: InjectOptions): ReviewOutcome {
  if (!isObject(body)) return { ok: false, problem: 'body is not a JSON object' };
  if (body.kind !== 'AdmissionReview') return { ok: false, problem: 'kind is not AdmissionReview' };
  if (typeof body.apiVersion !== 'string' || !ADMISSION_API_VERSIONS.includes(body.apiVersion)) {
    return { ok: false, problem: `apiVersion must be one of ${ADMISSION_API_VERSIONS.join(', ')}` };
  }
  if (!isObject(body.request)) return { ok: false, problem: 'request is missing' };
  const request = body.request as RequestShape;
  if (typeof request.uid !== 'string' || request.uid === '') return { ok: false, problem: 'request.uid is missing' };
  const answer = (extra: Omit<AdmissionResponse['response'], 'uid' | 'allowed'> = {}): AdmissionResponse => ({
    apiVersion: body.apiVersion as string,
    kind: 'AdmissionReview',
    response: { uid: request.uid as string, allowed: true, ...extra },
  });
  const isPod = request.kind?.kind === 'Pod' || request.resource?.resource === 'pods';
  const isCreate = request.operation === undefined || request.operation === 'CREATE';
  if (!isPod || !isCreate || (request.subResource !== undefined && request.subResource !== '')) return { ok: true, review: answer() };
  if (!isObject(request.object) || !isObject(request.object.spec)) return { ok: false, problem: 'request.object is not a pod' };

  const namespace = typeof request.namespace === 'string' ? request.namespace : undefined;
  const pod = request.object as unknown as PodLike;
  const result = inject(pod, { ...options, ...(namespace ? { namespace } : {}) });
  const warnings = result.warnings.map((warning) => WARNING_PREFIX + warning);
  const warned = warnings.length > 0 ? { warnings } : {};
  if (result.skipped) return { ok: true, review: answer(warned), result, ...(namespace ? { namespace } : {}) };
  const patch = Buffer.from(JSON.stringify(createPatch(pod, result.pod))).toString('base64');
  return { ok: true, review: answer({ patchType: 'JSONPatch', patch, ...warned }), result, ...(namespace ? { namespace } : {}) };
}

/** For a bug in the injector: the pod goes through unchanged, and says why. */
export function allowUnchanged(apiVersion: string, uid: string, warning: string): AdmissionResponse {
  return { apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true, warnings: [WARNING_PREFIX + warning] } };
}
