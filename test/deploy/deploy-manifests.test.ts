// Every kustomization under deploy/ renders offline and every object validates against its
// schema; the webhook and the injected chat example follow the design's rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../proxy/config/cli-args.js';
import { loadConfig, type Config, type RawValues } from '../../proxy/config/config.js';
import { ADMIN_PORT_NAME, SIDECAR_UID } from '../../proxy/inject/sidecar-container.js';
import { RUN_OPTIONS } from '../../proxy/cli/run-command.js';
import { containerOf, only, resolvePort, selects, type Container, type LabelSelector, type Workload } from '../helpers/kube-objects.js';
import { KUBECTL_MISSING, REPO_ROOT, findKustomizations, renderKustomization, validateObject, type KubeObject } from '../helpers/kustomize.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `ghcr.io/ws-sidecar/ws-sidecar:${VERSION}`;

/** The sidecar's own CLI validation applied to a container's args and env (`run` is the default command). */
function sidecarConfig(container: Container): Config {
  const args = container.args ?? [];
  const flags = args[0] === 'run' ? args.slice(1) : args;
  const parsed = parseCommandArgs(flags, RUN_OPTIONS);
  expect(parsed.problems).toEqual([]);
  const env = Object.fromEntries((container.env ?? []).map((entry) => [entry.name, entry.value ?? '']));
  const result = loadConfig(parsed.values as RawValues, env);
  if (!result.ok) throw new Error(`the sidecar would refuse these flags: ${result.problems.join('; ')}`);
  return result.config;
}

describe.skipIf(KUBECTL_MISSING !== undefined)(KUBECTL_MISSING ? `deploy/ kustomizations (skipped: ${KUBECTL_MISSING})` : 'deploy/ kustomizations', () => {
  const rendered = new Map<string, KubeObject[]>();
  beforeAll(async () => {
    for (const dir of findKustomizations()) rendered.set(dir, await renderKustomization(dir));
  });

  it('finds the webhook, example and monitoring kustomizations', () => {
    expect([...rendered.keys()]).toEqual(
      expect.arrayContaining(['webhook', 'webhook/base', 'webhook/no-cert-manager', 'examples/chat', 'monitoring', 'monitoring/scaling/keda', 'monitoring/scaling/hpa']),
    );
  });

  it('validates every rendered object against its Kubernetes or CRD schema', async () => {
    let count = 0;
    for (const [dir, objects] of rendered) {
      expect(objects.length, dir).toBeGreaterThan(0);
      for (const object of objects) {
        await validateObject(object);
        count++;
      }
    }
    expect(count).toBeGreaterThan(20);
  });

  it('the schema check catches a broken object', async () => {
    const deployment = structuredClone(only<Workload>(rendered.get('examples/chat')!, 'Deployment'));
    deployment.spec.template.spec.containers[0]!.ports = [{ containerPort: 'http' as unknown as number }];
    await expect(validateObject(deployment)).rejects.toThrow(/containerPort must be integer/);
    const { selector: _, ...withoutSelector } = deployment.spec;
    await expect(validateObject({ ...deployment, spec: withoutSelector })).rejects.toThrow(/selector/);
  });

  it('runs the package version of the image everywhere (the fleet example\'s Redis aside)', () => {
    const images = [...rendered.values()].flat().flatMap((object) => {
      const template = (object as Partial<Workload>).spec?.template;
      return template ? template.spec.containers.map((container) => container.image) : [];
    }).filter((image) => image !== 'redis:7.2-alpine');
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) expect(image).toBe(IMAGE);
  });

  describe('webhook', () => {
    const objects = () => rendered.get('webhook')!;

    it('runs two webhook replicas with the design flags, probes and a PDB', () => {
      const deployment = only<Workload>(objects(), 'Deployment', 'ws-sidecar-webhook');
      expect(deployment.spec.replicas).toBe(2);
      const pod = deployment.spec.template;
      const webhook = containerOf(pod, 'webhook');
      const tlsVolume = pod.spec.volumes!.find((volume) => volume.secret)!;
      const mount = webhook.volumeMounts!.find((candidate) => candidate.name === tlsVolume.name)!;
      expect(webhook.args).toEqual(['webhook', '--listen', ':8443', '--tls-cert', `${mount.mountPath}/tls.crt`, '--tls-key', `${mount.mountPath}/tls.key`]);
      for (const probe of [webhook.livenessProbe, webhook.readinessProbe]) {
        expect(probe?.httpGet).toMatchObject({ path: '/healthz', scheme: 'HTTPS' });
        expect(resolvePort([webhook], probe!.httpGet!.port)?.port.containerPort).toBe(8443);
      }
      expect(webhook.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // The image's USER, which is also the uid the injector gives sidecars.
      expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: SIDECAR_UID, runAsGroup: SIDECAR_UID, seccompProfile: { type: 'RuntimeDefault' } });
      const pdb = only<{ spec: { selector: LabelSelector; minAvailable: number } }>(objects(), 'PodDisruptionBudget');
      expect(selects(pdb.spec.selector, pod.metadata.labels)).toBe(true);
      expect(pdb.spec.minAvailable).toBe(1);
      const service = only<{ spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> } }>(objects(), 'Service');
      expect(selects({ matchLabels: service.spec.selector }, pod.metadata.labels)).toBe(true);
      expect(resolvePort([webhook], service.spec.ports[0]!.targetPort)?.port.containerPort).toBe(8443);
    });

    it('registers webhooks that fail open, have no side effects, answer fast and skip their own pods', () => {
      const config = only<{ webhooks: Array<Record<string, any>> }>(objects(), 'MutatingWebhookConfiguration');
      const service = only(objects(), 'Service');
      const webhookPodLabels = only<Workload>(objects(), 'Deployment').spec.template.metadata.labels;
      const ownNamespace = only(objects(), 'Namespace');
      const ownNamespaceLabels = { ...ownNamespace.metadata.labels, 'kubernetes.io/metadata.name': ownNamespace.metadata.name };
      expect(config.webhooks.length).toBeGreaterThan(0);
      for (const webhook of config.webhooks) {
        expect(webhook.failurePolicy).toBe('Ignore');
        expect(webhook.sideEffects).toBe('None');
        expect(webhook.timeoutSeconds).toBeLessThanOrEqual(10);
        expect(webhook.admissionReviewVersions).toEqual(['v1']);
        // The namespace-selector entry tells the webhook the namespace opted in by its path.
        const path = webhook.namespaceSelector.matchLabels?.['ws-sidecar.io/inject'] === 'enabled' ? '/mutate/namespace' : '/mutate';
        expect(webhook.clientConfig.service).toEqual({ name: service.metadata.name, namespace: service.metadata.namespace, path, port: 443 });
        expect(webhook.clientConfig.service.path).toMatch(/^(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)+$/);
        expect(webhook.rules).toEqual([expect.objectContaining({ operations: ['CREATE'], resources: ['pods'] })]);
        expect(selects(webhook.objectSelector, webhookPodLabels)).toBe(false);
        expect(selects(webhook.objectSelector, { 'app.kubernetes.io/name': 'chat' })).toBe(true);
        expect(selects(webhook.namespaceSelector, ownNamespaceLabels)).toBe(false);
        expect(webhook.matchConditions.length).toBeGreaterThan(0);
      }
      // A labelled namespace reaches exactly one entry; so does an unlabelled one (by annotation).
      const reached = (labels: Record<string, string>) => config.webhooks.filter((webhook) => selects(webhook.namespaceSelector, labels)).length;
      expect(reached({ 'ws-sidecar.io/inject': 'enabled', 'kubernetes.io/metadata.name': 'chat' })).toBe(1);
      expect(reached({ 'kubernetes.io/metadata.name': 'chat' })).toBe(1);
      expect(reached({ 'kubernetes.io/metadata.name': 'kube-system' })).toBe(0);
    });

    it('gets its certificate from cert-manager, with the CA injected from the serving Certificate', () => {
      const config = only(objects(), 'MutatingWebhookConfiguration');
      const certificate = only<{ spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string } } }>(objects(), 'Certificate', 'ws-sidecar-webhook');
      expect(config.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${certificate.metadata.namespace}/${certificate.metadata.name}`);
      const deployment = only<Workload>(objects(), 'Deployment');
      expect(deployment.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ secret: { secretName: certificate.spec.secretName } }));
      const service = only(objects(), 'Service');
      expect(certificate.spec.dnsNames).toContain(`${service.metadata.name}.${service.metadata.namespace}.svc`);
      const issuer = only<{ spec: { ca?: { secretName: string } } }>(objects(), 'Issuer', certificate.spec.issuerRef.name);
      const ca = only<{ spec: { isCA: boolean; secretName: string } }>(objects(), 'Certificate', 'ws-sidecar-ca');
      expect(ca.spec.isCA).toBe(true);
      expect(issuer.spec.ca?.secretName).toBe(ca.spec.secretName);
    });

    it('leaves TLS to gen-certs.sh without cert-manager', () => {
      const objects = rendered.get('webhook/no-cert-manager')!;
      expect(objects.filter((object) => object.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
      expect(only(objects, 'MutatingWebhookConfiguration').metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined();
    });
  });

  describe('chat example in fleet mode', () => {
    const objects = () => rendered.get('examples/chat-fleet')!;

    it('points every sidecar at the example Redis, with the downward-API pod name and revision, and caps the fleet and each room', () => {
      const pod = only<Workload>(objects(), 'Deployment', 'chat').spec.template;
      const sidecar = containerOf(pod, 'ws-sidecar');
      const config = sidecarConfig(sidecar);
      expect(config.fleetRedis?.shown).toBe('redis://redis.chat-demo.svc:6379');
      expect(config).toMatchObject({ fleetName: 'chat-demo/chat', rebalance: true, fleetMaxConnections: 20000, maxConnectionsPerTenant: 200 });
      expect(config.tenantFrom).toEqual({ from: 'query', name: 'room' });
      const fieldOf = (name: string) => (sidecar.env ?? []).find((entry) => entry.name === name) as { valueFrom?: { fieldRef?: { fieldPath: string } } } | undefined;
      expect(fieldOf('WS_SIDECAR_POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      expect(fieldOf('WS_SIDECAR_REVISION')?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['pod-template-hash']");
      const service = only<{ metadata: { name: string; namespace: string }; spec: { ports: Array<{ port: number }> } }>(objects().filter((o) => (o as { metadata: { name: string } }).metadata.name === 'redis'), 'Service');
      expect(`${service.metadata.name}.${service.metadata.namespace}`).toBe('redis.chat-demo');
      expect(service.spec.ports[0]!.port).toBe(6379);
    });
  });

  describe('chat example', () => {
    const objects = () => rendered.get('examples/chat')!;
    const pod = () => only<Workload>(objects(), 'Deployment', 'chat').spec.template;

    it('routes the Service through the sidecar: the port name moved, the app keeps the number', () => {
      const service = only<{ spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> } }>(objects(), 'Service');
      const targetPort = service.spec.ports[0]!.targetPort;
      expect(typeof targetPort).toBe('string');
      expect(selects({ matchLabels: service.spec.selector }, pod().metadata.labels)).toBe(true);
      expect(resolvePort(pod().spec.containers, targetPort)?.container).toBe('ws-sidecar');
      const sidecar = sidecarConfig(containerOf(pod(), 'ws-sidecar'));
      expect(resolvePort([containerOf(pod(), 'ws-sidecar')], targetPort)?.port.containerPort).toBe(sidecar.listen.port);
      const app = containerOf(pod(), 'chat');
      expect(app.ports).toEqual([{ containerPort: sidecar.upstream.port }]);
      for (const probe of [app.livenessProbe, app.readinessProbe]) expect(probe?.httpGet?.port).toBe(sidecar.upstream.port);
      const ingress = only<{ spec: { rules: Array<{ http: { paths: Array<{ backend: { service: { name: string; port: { name: string } } } }> } }> } }>(objects(), 'Ingress');
      expect(ingress.spec.rules[0]!.http.paths[0]!.backend.service).toEqual({ name: service.metadata.name, port: { name: service.spec.ports[0]!.name } });
      expect(Number(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
      expect(Number(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
    });

    it('drains before the app stops: preStop on both containers, admin port by number, bearer token', () => {
      const sidecarContainer = containerOf(pod(), 'ws-sidecar');
      const sidecar = sidecarConfig(sidecarContainer);
      // The injector's per-pod token: base64url of an HMAC-SHA256.
      expect(sidecar.drainToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      for (const name of ['chat', 'ws-sidecar']) {
        expect(containerOf(pod(), name).lifecycle?.preStop?.httpGet, name).toEqual({
          path: '/drain?wait=1',
          port: sidecar.adminListen.port,
          scheme: 'HTTP',
          httpHeaders: [{ name: 'Authorization', value: `Bearer ${sidecar.drainToken}` }],
        });
      }
      expect(sidecar.drainDelayMs).toBe(5000);
      expect(pod().spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(sidecar.drainDelayMs + sidecar.drainTimeoutMs);
      expect(pod().metadata.annotations?.['ws-sidecar.io/status']).toBe('injected');
    });

    it('turns each ws-sidecar.io/<flag> annotation into the same sidecar flag', () => {
      const args = containerOf(pod(), 'ws-sidecar').args!;
      const flagAnnotations = Object.entries(pod().metadata.annotations ?? {}).filter(([key]) => RUN_OPTIONS[key.replace('ws-sidecar.io/', '')] !== undefined);
      expect(flagAnnotations.length).toBeGreaterThan(0);
      for (const [key, value] of flagAnnotations) expect(args).toContain(`--${key.replace('ws-sidecar.io/', '')}=${value}`);
    });

    it('runs the app and the sidecar as the image user, the sidecar hardened and probed on its admin port', () => {
      const container = containerOf(pod(), 'ws-sidecar');
      const sidecar = sidecarConfig(container);
      expect(pod().spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: SIDECAR_UID, runAsGroup: SIDECAR_UID });
      expect(container.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: SIDECAR_UID,
        runAsGroup: SIDECAR_UID,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: sidecar.adminListen.port, scheme: 'HTTP' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: sidecar.adminListen.port, scheme: 'HTTP' });
      expect(resolvePort([container], sidecar.adminListen.port)?.port.name).toBe(ADMIN_PORT_NAME);
    });

    it('mounts the chat server where the app command runs it, and budgets one disruption', () => {
      const app = containerOf(pod(), 'chat');
      const configMap = only<{ data: Record<string, string> }>(objects(), 'ConfigMap');
      const volume = pod().spec.volumes!.find((candidate) => candidate.configMap?.name === configMap.metadata.name)!;
      const mount = app.volumeMounts!.find((candidate) => candidate.name === volume.name)!;
      const script = app.command!.at(-1)!;
      expect(script.startsWith(mount.mountPath + '/')).toBe(true);
      expect(configMap.data[script.slice(mount.mountPath.length + 1)]).toContain('WebSocketServer');
      const pdb = only<{ spec: { selector: LabelSelector; maxUnavailable: number } }>(objects(), 'PodDisruptionBudget');
      expect(selects(pdb.spec.selector, pod().metadata.labels)).toBe(true);
      expect(pdb.spec.maxUnavailable).toBe(1);
    });
  });
});
