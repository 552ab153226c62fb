// A PodMonitor as Prometheus sees it, without a cluster: the scrape job prometheus-operator
// generates for it (kubernetes_sd role pod, its default relabelings, then ours), fed by file_sd
// with the targets Kubernetes service discovery would produce for a pod spec. Prometheus applies
// the relabeling itself, so /api/v1/targets shows what a cluster would keep and drop.

export interface PodMonitor {
  metadata: { name: string; namespace?: string };
  spec: {
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
    podMetricsEndpoints: Array<{ port?: string; path?: string; interval?: string; relabelings?: Array<Record<string, unknown>>; [field: string]: unknown }>;
    [field: string]: unknown;
  };
}

/** The fields this translation understands; any other makes it throw, so the PodMonitor cannot outgrow the test. */
const KNOWN_SPEC = new Set(['namespaceSelector', 'selector', 'podMetricsEndpoints']);
const KNOWN_ENDPOINT = new Set(['port', 'path', 'interval', 'relabelings']);

const snake = (text: string): string => text.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * prometheus-operator's job for endpoint 0: drop finished pods, keep the named container port,
 * namespace/container/pod/job/endpoint labels, then the PodMonitor's relabelings (camelCase →
 * snake_case). The cluster SD is replaced by `file_sd` (same meta labels); `interval` by the test's.
 */
export function podMonitorScrapeConfig(monitor: PodMonitor, namespace: string, targetsFile: string, interval: string): Record<string, unknown> {
  for (const key of Object.keys(monitor.spec)) if (!KNOWN_SPEC.has(key)) throw new Error(`PodMonitor spec.${key} is not translated`);
  if (monitor.spec.podMetricsEndpoints.length !== 1) throw new Error('one podMetricsEndpoint expected');
  const endpoint = monitor.spec.podMetricsEndpoints[0]!;
  for (const key of Object.keys(endpoint)) if (!KNOWN_ENDPOINT.has(key)) throw new Error(`podMetricsEndpoints[0].${key} is not translated`);
  if (!endpoint.port) throw new Error('the endpoint must name its port');
  const selectorLabels = Object.entries(monitor.spec.selector?.matchLabels ?? {});
  if ((monitor.spec.selector?.matchExpressions ?? []).length > 0) throw new Error('matchExpressions are not translated');
  const namespaces = monitor.spec.namespaceSelector?.any ? [] : (monitor.spec.namespaceSelector?.matchNames ?? [namespace]);
  const label = (name: string) => `__meta_kubernetes_pod_label_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
  return {
    job_name: `podMonitor/${namespace}/${monitor.metadata.name}/0`,
    scrape_interval: interval,
    scrape_timeout: interval,
    metrics_path: endpoint.path ?? '/metrics',
    file_sd_configs: [{ files: [targetsFile], refresh_interval: '1s' }],
    relabel_configs: [
      ...(namespaces.length > 0 ? [{ source_labels: ['__meta_kubernetes_namespace'], regex: `(${namespaces.join('|')})`, action: 'keep' }] : []),
      ...selectorLabels.map(([name, value]) => ({ source_labels: [label(name), `${label(name).replace('_label_', '_labelpresent_')}`], regex: `(${value});true`, action: 'keep' })),
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)', action: 'drop' },
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: endpoint.port, action: 'keep' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { target_label: 'job', replacement: `${namespace}/${monitor.metadata.name}` },
      { target_label: 'endpoint', replacement: endpoint.port },
      ...(endpoint.relabelings ?? []).map((rule) => Object.fromEntries(Object.entries(rule).map(([key, value]) => [snake(key), value]))),
    ],
  };
}

interface ContainerSpec {
  name: string;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
}

export interface PodInstance {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  readonly spec: { containers: ContainerSpec[]; initContainers?: ContainerSpec[] };
  /** Where each container port is reached from here: the real process behind it, or a dead port. */
  readonly address: (container: string, port: number) => string;
}

/** Kubernetes SD, role pod: one target per declared container port (a portless container gets one too). */
export function podTargets(pod: PodInstance): Array<{ targets: string[]; labels: Record<string, string> }> {
  const common: Record<string, string> = {
    __meta_kubernetes_namespace: pod.namespace,
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_ip: '127.0.0.1',
    __meta_kubernetes_pod_phase: pod.phase,
    __meta_kubernetes_pod_ready: pod.phase === 'Running' ? 'true' : 'false',
  };
  for (const [key, value] of Object.entries(pod.labels)) {
    const name = key.replace(/[^a-zA-Z0-9_]/g, '_');
    common[`__meta_kubernetes_pod_label_${name}`] = value;
    common[`__meta_kubernetes_pod_labelpresent_${name}`] = 'true';
  }
  const containers = [...pod.spec.containers.map((c) => ({ c, init: false })), ...(pod.spec.initContainers ?? []).map((c) => ({ c, init: true }))];
  return containers.flatMap(({ c, init }) => {
    const base = { ...common, __meta_kubernetes_pod_container_name: c.name, __meta_kubernetes_pod_container_init: String(init) };
    if (!c.ports?.length) return [{ targets: ['127.0.0.1'], labels: base }];
    return c.ports.map((port) => ({
      targets: [pod.address(c.name, port.containerPort)],
      labels: {
        ...base,
        __meta_kubernetes_pod_container_port_name: port.name ?? '',
        __meta_kubernetes_pod_container_port_number: String(port.containerPort),
        __meta_kubernetes_pod_container_port_protocol: port.protocol ?? 'TCP',
      },
    }));
  });
}
