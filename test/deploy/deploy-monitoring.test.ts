// Alerts pass promtool (syntax and unit tests on synthetic series); the dashboard, alerts and
// autoscalers read only metrics the sidecar's registry exposes.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ADMIN_PORT_NAME, SIDECAR_NAME } from '../../proxy/inject/sidecar-container.js';
import { containerOf, only, resolvePort, type Workload } from '../helpers/kube-objects.js';
import { DEPLOY_DIR, KUBECTL_MISSING, renderKustomization, type KubeObject } from '../helpers/kustomize.js';
import { exposedMetricNames, metricNamesIn } from '../helpers/promql.js';

interface Rule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
}
interface DashboardPanel {
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: DashboardPanel[];
}

const PROMTOOL_MISSING = spawnSync('promtool', ['--version']).status === 0 ? undefined : 'promtool is not installed (Debian package prometheus)';
const dashboard = JSON.parse(readFileSync(join(DEPLOY_DIR, 'monitoring/grafana-dashboard.json'), 'utf8')) as {
  panels: DashboardPanel[];
  templating: { list: Array<{ type: string; query: unknown }> };
};
const ruleGroups = (parse(readFileSync(join(DEPLOY_DIR, 'monitoring/prometheus-rule.yaml'), 'utf8')) as { spec: { groups: Array<{ rules: Rule[] }> } }).spec.groups;
const alerts = ruleGroups.flatMap((group) => group.rules);

function dashboardExpressions(): string[] {
  const fromPanels = (panels: DashboardPanel[]): string[] => panels.flatMap((panel) => [...(panel.targets ?? []).map((target) => target.expr), ...fromPanels(panel.panels ?? [])]);
  // Template variables: label_values(<selector>, <label>) reads the selector's metric.
  const fromVariables = dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => {
      const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query;
      const match = /^label_values\((.+),\s*\w+\)$/.exec(query);
      if (!match) throw new Error(`unexpected variable query ${query}`);
      return match[1]!;
    });
  return [...fromPanels(dashboard.panels), ...fromVariables];
}

describe('metric names', () => {
  let exposed: Set<string>;
  beforeAll(async () => {
    exposed = await exposedMetricNames();
  });

  it('reads the exposed names from the registry, design metrics included', () => {
    for (const name of ['ws_sidecar_connections_active', 'ws_sidecar_connections_max', 'ws_sidecar_connections_total', 'ws_sidecar_upgrade_duration_seconds_bucket', 'process_cpu_seconds_total']) {
      expect(exposed).toContain(name);
    }
  });

  it('the name check rejects a metric the sidecar does not expose, and bad syntax', () => {
    expect(metricNamesIn('sum(rate(ws_sidecar_conections_total[$__rate_interval]))')).toEqual(['ws_sidecar_conections_total']);
    expect(exposed).not.toContain('ws_sidecar_conections_total');
    expect(() => metricNamesIn('sum(rate(ws_sidecar_connections_total[5m])')).toThrow(/syntax error/);
    expect(() => metricNamesIn('{__name__="ws_sidecar_draining"}')).toThrow(/without a metric name/);
  });

  it('the dashboard uses only exposed metrics and covers connections, admission, messages, closes and drains', () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(15);
    const used = new Set(expressions.flatMap(metricNamesIn));
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
    for (const name of ['ws_sidecar_connections_active', 'ws_sidecar_connections_max', 'ws_sidecar_connections_total', 'ws_sidecar_messages_total', 'ws_sidecar_closes_total', 'ws_sidecar_draining']) {
      expect(used).toContain(name);
    }
  });

  it('the alerts and the autoscalers use only exposed metrics', () => {
    const keda = parse(readFileSync(join(DEPLOY_DIR, 'monitoring/scaling/keda/scaled-object.yaml'), 'utf8')) as { spec: { triggers: Array<{ metadata: { query: string } }> } };
    const adapter = parse(readFileSync(join(DEPLOY_DIR, 'monitoring/scaling/hpa/prometheus-adapter-values.yaml'), 'utf8')) as {
      rules: { custom: Array<{ seriesQuery: string; metricsQuery: string }> };
    };
    // prometheus-adapter's templates become plain label matchers / grouping for parsing.
    const adapterQuery = (query: string) => query.replace(/<<\.GroupBy>>/g, 'pod').replace(/<<\.LabelMatchers>>/g, 'pod="x"').replace(/<<\.Series>>/g, 'ws_sidecar_connections_active');
    const expressions = [
      ...alerts.map((rule) => rule.expr),
      ...keda.spec.triggers.map((trigger) => trigger.metadata.query),
      ...adapter.rules.custom.flatMap((rule) => [rule.seriesQuery, adapterQuery(rule.metricsQuery)]),
    ];
    const used = expressions.flatMap(metricNamesIn);
    expect(used.length).toBeGreaterThan(8);
    expect(used.filter((name) => !exposed.has(name))).toEqual([]);
  });
});

describe.skipIf(PROMTOOL_MISSING !== undefined)(PROMTOOL_MISSING ? `alert rules (skipped: ${PROMTOOL_MISSING})` : 'alert rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-sidecar-rules-'));
  const rulesFile = join(dir, 'rules.yaml');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => writeFileSync(rulesFile, stringify({ groups: ruleGroups })));

  it('has the four alerts the design asks for', () => {
    expect(alerts.map((rule) => rule.alert).sort()).toEqual(['WsSidecarAtCapacity', 'WsSidecarDrainOverdue', 'WsSidecarHighRejectionRate', 'WsSidecarUpstreamDown']);
  });

  it('passes promtool check rules', async () => {
    const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', rulesFile]);
    expect(stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('fires each alert on a failing pod and not on a healthy one (promtool test rules)', async () => {
    const severity = (name: string) => alerts.find((rule) => rule.alert === name)!.labels.severity!;
    const at = (pod: string) => ({ namespace: 'chat-demo', pod });
    const series = (name: string, labels: Record<string, string>, values: string) => ({
      series: `${name}{${Object.entries(labels).map(([key, value]) => `${key}="${value}"`).join(',')}}`,
      values,
    });
    const firing = (alertname: string, pod: string, evalTime: string, summary: string, description: string) => ({
      eval_time: evalTime,
      alertname,
      exp_alerts: [{ exp_labels: { ...at(pod), severity: severity(alertname) }, exp_annotations: { summary, description } }],
    });
    const silent = (alertname: string, evalTime: string) => ({ eval_time: evalTime, alertname, exp_alerts: [] });
    const unitTest = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // full: 96% of its cap for 20 minutes; half: 50%; unlimited: no cap.
            series('ws_sidecar_connections_active', at('full'), '960x20'),
            series('ws_sidecar_connections_max', at('full'), '1000x20'),
            series('ws_sidecar_connections_active', at('half'), '500x20'),
            series('ws_sidecar_connections_max', at('half'), '1000x20'),
            series('ws_sidecar_connections_active', at('unlimited'), '5000x20'),
            series('ws_sidecar_connections_max', at('unlimited'), '0x20'),
          ],
          alert_rule_test: [silent('WsSidecarAtCapacity', '4m'), firing('WsSidecarAtCapacity', 'full', '10m', 'ws-sidecar in chat-demo/full is at its connection cap', '96% of --max-connections in use for 5 minutes.')],
        },
        {
          interval: '1m',
          input_series: [
            // busy: 1/s accepted, 0.5/s rejected (33%); quiet: 0.01/s rejected, under the floor.
            series('ws_sidecar_connections_total', { ...at('busy'), outcome: 'accepted' }, '0+60x30'),
            series('ws_sidecar_connections_total', { ...at('busy'), outcome: 'rejected_capacity' }, '0+30x30'),
            series('ws_sidecar_connections_total', { ...at('quiet'), outcome: 'accepted' }, '0+0x30'),
            series('ws_sidecar_connections_total', { ...at('quiet'), outcome: 'rejected_rate' }, '0+0.6x30'),
          ],
          alert_rule_test: [silent('WsSidecarHighRejectionRate', '5m'), firing(
              'WsSidecarHighRejectionRate',
              'busy',
              '20m',
              'ws-sidecar in chat-demo/busy rejects many WebSocket upgrades',
              '33.33% of upgrades rejected (capacity, per-IP cap, accept rate or draining) over 10 minutes.',
            ),],
        },
        {
          interval: '1m',
          input_series: [
            // stuck: draining with 3 connections left; done: draining with none; serving: not draining.
            series('ws_sidecar_draining', at('stuck'), '1x10'),
            series('ws_sidecar_connections_active', at('stuck'), '3x10'),
            series('ws_sidecar_draining', at('done'), '1x10'),
            series('ws_sidecar_connections_active', at('done'), '0x10'),
            series('ws_sidecar_draining', at('serving'), '0x10'),
            series('ws_sidecar_connections_active', at('serving'), '40x10'),
          ],
          alert_rule_test: [silent('WsSidecarDrainOverdue', '1m'), firing('WsSidecarDrainOverdue', 'stuck', '5m', 'ws-sidecar in chat-demo/stuck is past its drain deadline', 'Draining for over 2 minutes with 3 connections still open.')],
        },
        {
          interval: '1m',
          input_series: [
            series('ws_sidecar_upstream_up', at('down'), '0x10'),
            series('ws_sidecar_draining', at('down'), '0x10'),
            series('ws_sidecar_upstream_up', at('up'), '1x10'),
            series('ws_sidecar_draining', at('up'), '0x10'),
            // An app stopping during a drain is expected, not an outage.
            series('ws_sidecar_upstream_up', at('draining'), '0x10'),
            series('ws_sidecar_draining', at('draining'), '1x10'),
          ],
          alert_rule_test: [silent('WsSidecarUpstreamDown', '1m'), firing(
              'WsSidecarUpstreamDown',
              'down',
              '5m',
              'The app behind ws-sidecar in chat-demo/down is unreachable',
              "The sidecar's upstream check has failed for 2 minutes; new upgrades get 502.",
            ),],
        },
      ],
    };
    const testFile = join(dir, 'rules.test.yaml');
    writeFileSync(testFile, stringify(unitTest));
    const result = spawnSync('promtool', ['test', 'rules', testFile], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});

describe.skipIf(KUBECTL_MISSING !== undefined)(KUBECTL_MISSING ? `monitoring wiring (skipped: ${KUBECTL_MISSING})` : 'monitoring wiring', () => {
  let monitoring: KubeObject[];
  let chat: KubeObject[];
  beforeAll(async () => {
    [monitoring, chat] = await Promise.all([renderKustomization('monitoring'), renderKustomization('examples/chat')]);
  });

  it('scrapes the admin port of the container the injector adds, by the names it gives them, and ships the dashboard to Grafana', () => {
    type Endpoint = { port: string; path: string; relabelings: Array<{ sourceLabels: string[]; regex: string; action: string }> };
    const endpoint = only<{ spec: { podMetricsEndpoints: Endpoint[] } }>(monitoring, 'PodMonitor').spec.podMetricsEndpoints[0]!;
    expect(endpoint.port).toBe(ADMIN_PORT_NAME);
    expect(endpoint.path).toBe('/metrics');
    expect(endpoint.relabelings).toContainEqual({ sourceLabels: ['__meta_kubernetes_pod_container_name'], regex: SIDECAR_NAME, action: 'keep' });
    // In the injected example, that port name is the port --admin-listen serves /metrics on.
    const pod = only<Workload>(chat, 'Deployment').spec.template;
    const sidecar = containerOf(pod, SIDECAR_NAME);
    const adminListen = sidecar.args!.find((arg) => arg.startsWith('--admin-listen='))!;
    expect(resolvePort([sidecar], ADMIN_PORT_NAME)?.port.containerPort).toBe(Number(adminListen.split(':').at(-1)));
    const configMap = only<{ data: Record<string, string> }>(monitoring, 'ConfigMap');
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(configMap.data['ws-sidecar.json']!)).toEqual(dashboard);
  });
});
