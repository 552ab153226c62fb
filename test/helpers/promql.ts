// PromQL as the Prometheus UI parses it (lezer grammar): metric names an expression reads, and the
// names the sidecar's own registry exposes, so dashboards and alerts cannot drift from the code.
import { parser } from '@prometheus-io/lezer-promql';
import { FleetMetrics } from '../../proxy/metrics/fleet-metrics.js';
import { Metrics } from '../../proxy/metrics/metrics.js';

// Grafana's variables, replaced by values PromQL accepts, before parsing.
const GRAFANA_VARIABLES: Array<[RegExp, string]> = [
  [/\$__(rate_interval|interval|range)\b/g, '5m'],
  [/\$\{?\w+\}?/g, 'x'],
];

/** Every metric name a PromQL expression selects; throws on a syntax error or a nameless selector. */
export function metricNamesIn(expression: string): string[] {
  const source = GRAFANA_VARIABLES.reduce((text, [pattern, value]) => text.replace(pattern, value), expression);
  const names: string[] = [];
  const cursor = parser.parse(source).cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL syntax error at ${cursor.from} in: ${expression}`);
    if (cursor.name === 'VectorSelector') {
      const selector = cursor.node.getChild('Identifier');
      if (!selector) throw new Error(`selector without a metric name in: ${expression}`);
      names.push(source.slice(selector.from, selector.to));
    }
  } while (cursor.next());
  return names;
}

/** Series names the sidecar's registry exposes (histograms as _bucket, _sum and _count). */
export async function exposedMetricNames(): Promise<Set<string>> {
  const idle = { messagesToUpstream: 0, bytesToUpstream: 0, messagesToClient: 0, bytesToClient: 0 };
  const metrics = new Metrics(100, { activeConnections: () => 0, draining: () => false, upstreamUp: () => true, traffic: () => idle });
  // Fleet mode's metrics join the same registry when --fleet-redis is set.
  new FleetMetrics(metrics.registry, { storeUp: () => true, pods: () => 1, connections: () => 0, fairShare: () => 0, storeErrors: () => 0 });
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}
