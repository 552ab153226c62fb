// The pure injector: decisions as values, ports, tokens, grace period, modes.
import { describe, expect, it } from 'vitest';
import { inject, type InjectOptions } from '../../proxy/inject/inject.js';
import type { Container, PodLike } from '../../proxy/inject/kube-types.js';

const options: InjectOptions = { image: 'ws-sidecar:test', tokenSeed: 'seed' };

function pod(overrides: { annotations?: Record<string, string>; containers?: Container[]; name?: string; spec?: Record<string, unknown> } = {}): PodLike {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: overrides.name ?? 'p', namespace: 'ns', annotations: { 'ws-sidecar.io/inject': 'true', ...overrides.annotations } },
    spec: { containers: overrides.containers ?? [{ name: 'app', image: 'app:1', ports: [{ name: 'ws', containerPort: 3000 }] }], ...overrides.spec },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const sidecarOf = (result: { pod: PodLike }): Container => [...result.pod.spec.containers, ...(result.pod.spec.initContainers ?? [])].find((c) => c.name === 'ws-sidecar')!;

describe('inject', () => {
  it('does not touch its input', () => {
    const input = deepFreeze(pod());
    const result = inject(input, options);
    expect(result.skipped).toBeUndefined();
    expect(result.pod).not.toBe(input);
  });

  it('returns skip reasons as values with the pod unchanged', () => {
    const cases: Array<[PodLike, InjectOptions, string]> = [
      [pod({ annotations: { 'ws-sidecar.io/inject': 'false' } }), { ...options, all: true }, 'opted_out'],
      [{ metadata: {}, spec: pod().spec }, options, 'not_opted_in'],
      [pod({ annotations: { 'ws-sidecar.io/status': 'injected' } }), options, 'already_injected'],
      [pod({ spec: { hostNetwork: true } }), options, 'host_network'],
      [pod({ annotations: { 'ws-sidecar.io/port': 'nope' } }), options, 'bad_port'],
      [pod({ annotations: { 'ws-sidecar.io/port': '70000' } }), options, 'bad_port'],
      [pod({ containers: [] }), options, 'no_containers'],
    ];
    for (const [input, opts, reason] of cases) {
      const result = inject(input, opts);
      expect(result.skipped).toBe(reason);
      expect(result.pod).toEqual(input);
    }
  });

  it('opts in through the namespace label unless the pod says false', () => {
    const unannotated: PodLike = { metadata: { name: 'p' }, spec: pod().spec };
    expect(inject(unannotated, { ...options, namespaceOptedIn: true }).skipped).toBeUndefined();
    expect(inject(pod({ annotations: { 'ws-sidecar.io/inject': 'false' } }), { ...options, namespaceOptedIn: true }).skipped).toBe('opted_out');
  });

  it('gives the sidecar env and both preStop hooks the same token, per pod identity and seed', () => {
    const result = inject(pod(), options);
    const sidecar = sidecarOf(result);
    const token = (sidecar.env as Array<{ name: string; value: string }>)[0]!;
    expect(token.name).toBe('WS_SIDECAR_DRAIN_TOKEN');
    expect(token.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bearer = { name: 'Authorization', value: `Bearer ${token.value}` };
    expect(result.pod.spec.containers[0]!.lifecycle!.preStop!.httpGet!.httpHeaders).toEqual([bearer]);
    expect(sidecar.lifecycle!.preStop!.httpGet).toMatchObject({ path: '/drain?wait=1', port: 9090, httpHeaders: [bearer] });
    const tokenOf = (input: PodLike, opts: InjectOptions): string => (sidecarOf(inject(input, opts)).env as Array<{ value: string }>)[0]!.value;
    expect(tokenOf(pod(), options)).toBe(token.value);
    expect(tokenOf(pod({ name: 'other' }), options)).not.toBe(token.value);
    expect(tokenOf(pod(), { ...options, tokenSeed: 'another' })).not.toBe(token.value);
    // No seed: keyed on the manifest (reproducible) or random (webhook).
    const { tokenSeed: _, ...unseeded } = options;
    expect(tokenOf(pod(), unseeded)).toBe(tokenOf(pod(), unseeded));
    expect(tokenOf(pod(), { ...unseeded, tokenFallback: 'random' })).not.toBe(tokenOf(pod(), { ...unseeded, tokenFallback: 'random' }));
  });

  it('prefers 8080 and 9090, and avoids every port already in the pod', () => {
    expect(sidecarOf(inject(pod(), options)).args).toEqual(expect.arrayContaining(['--listen=0.0.0.0:8080', '--admin-listen=0.0.0.0:9090']));
    const crowded = pod({
      containers: [
        { name: 'app', image: 'a', ports: [{ name: 'ws', containerPort: 8080 }, { containerPort: 8081, hostPort: 8082 }], livenessProbe: { httpGet: { port: 9090 } } },
        { name: 'other', image: 'b', ports: [{ containerPort: 9091 }], readinessProbe: { tcpSocket: { port: '8083' } } },
      ],
    });
    const sidecar = sidecarOf(inject(crowded, options));
    expect(sidecar.ports!.map((port) => port.containerPort)).toEqual([8084, 9092]);
    expect(sidecar.args).toContain('--upstream=http://127.0.0.1:8080');
  });

  it('raises terminationGracePeriodSeconds to drain delay + drain timeout + margin, never lowers it', () => {
    expect(inject(pod(), options).pod.spec.terminationGracePeriodSeconds).toBe(5 + 25 + 10);
    const longer = inject(pod({ annotations: { 'ws-sidecar.io/drain-timeout': '60.5' } }), options);
    expect(longer.pod.spec.terminationGracePeriodSeconds).toBe(Math.ceil(5 + 60.5) + 10);
    expect(inject(pod({ spec: { terminationGracePeriodSeconds: 600 } }), options).pod.spec.terminationGracePeriodSeconds).toBe(600);
  });

  it('appends a native sidecar last among init containers, or falls back on old clusters', () => {
    const withInit = pod({ spec: { initContainers: [{ name: 'setup', image: 's' }] } });
    const native = inject(withInit, { ...options, nativeSidecar: true, kubernetesVersion: { major: 1, minor: 33 } });
    expect(native.pod.spec.initContainers!.map((c) => c.name)).toEqual(['setup', 'ws-sidecar']);
    expect(native.pod.spec.initContainers![1]!.restartPolicy).toBe('Always');
    expect(native.warnings).toEqual([]);
    const unknownVersion = inject(withInit, { ...options, nativeSidecar: true });
    expect(unknownVersion.warnings).toEqual(['port "ws" moved to a native sidecar: Services resolve it only on Kubernetes 1.33+']);
    const old = inject(withInit, { ...options, nativeSidecar: true, kubernetesVersion: { major: 1, minor: 28 } });
    expect(old.pod.spec.containers.map((c) => c.name)).toEqual(['app', 'ws-sidecar']);
    expect(old.warnings[0]).toMatch(/^native sidecars need Kubernetes 1.29\+ \(cluster 1.28\)/);
    // Without a named port to take over, 1.29-1.32 can run it natively.
    const numbered = pod({ containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 3000 }] }] });
    const v130 = inject(numbered, { ...options, nativeSidecar: true, kubernetesVersion: { major: 1, minor: 30 } });
    expect(v130.pod.spec.initContainers!.map((c) => c.name)).toEqual(['ws-sidecar']);
  });

  it('hardens the sidecar and probes it on the admin port', () => {
    const sidecar = sidecarOf(inject(pod(), options));
    expect(sidecar.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(sidecar.livenessProbe!.httpGet).toMatchObject({ path: '/healthz', port: 9090 });
    expect(sidecar.readinessProbe!.httpGet).toMatchObject({ path: '/readyz', port: 9090 });
    expect(sidecar.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
  });
});
