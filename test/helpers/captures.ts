// The real AdmissionReview captures (test/fixtures/k8s-captures, see their .source.txt files).
import { readFileSync } from 'node:fs';

export const CAPTURES = {
  twoContainers: 'admission-review-kubectl-apply-two-containers.json',
  generateNameInit: 'admission-review-replicaset-generatename-initcontainers.json',
  proxyNamedPort: 'admission-review-replicaset-proxy-sidecar-named-port.json',
} as const;

export interface Review {
  apiVersion: string;
  kind: string;
  request: { uid: string; namespace?: string; object: Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> } };
}

export function captureText(file: string): string {
  return readFileSync(new URL(`../fixtures/k8s-captures/${file}`, import.meta.url), 'utf8');
}

export function loadCapture(file: string): Review {
  return JSON.parse(captureText(file)) as Review;
}
