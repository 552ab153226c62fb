// The monitoring kit against a real Prometheus scraping three real sidecars (the CLI): the
// PodMonitor's relabeling applied by Prometheus to the targets Kubernetes would discover for the
// example pod, the dashboard's and the alerts' expressions evaluated on the data this test made,
// and two alerts driven to firing by real conditions (one resolved again).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, nextMessage, openClient, startApp, type TestApp } from '../helpers/apps.js';
import { DEPLOY_DIR } from '../helpers/kustomize.js';
import { podMonitorScrapeConfig, podTargets, type PodInstance, type PodMonitor } from '../helpers/pod-monitor-scrape.js';
import { PROMETHEUS_MISSING, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  allValue?: string;
  query?: { query: string } | string;
}

const read = (path: string): string => readFileSync(join(DEPLOY_DIR, path), 'utf8');
const dashboard = JSON.parse(read('monitoring/grafana-dashboard.json')) as { panels: Panel[]; templating: { list: Variable[] } };
const shippedGroups = (parse(read('monitoring/prometheus-rule.yaml')) as { spec: { groups: Array<{ name: string; rules: Rule[] }> } }).spec.groups;
const podMonitor = parse(read('monitoring/pod-monitor.yaml')) as PodMonitor;
const monitoringNamespace = (parse(read('monitoring/kustomization.yaml')) as { namespace: string }).namespace;
const examplePod = (parse(read('examples/chat/deployment.yaml')) as { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodInstance['spec'] } } }).spec.template;
const exampleNamespace = (parse(read('examples/chat/kustomization.yaml')) as { namespace: string }).namespace;

/** Grafana variables as a dashboard user with "All" selected gets them; the rate window covers the whole test. */
function grafanaQuery(expression: string): string {
  let text = expression.replace(/\$__rate_interval\b/g, '5m');
  for (const variable of dashboard.templating.list) if (variable.allValue) text = text.replaceAll(`$${variable.name}`, variable.allValue);
  if (/\$/.test(text)) throw new Error(`unreplaced variable in ${expression}`);
  return text;
}
const panelsOf = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
const DEAD_PORT = '127.0.0.1:9'; // discard: nobody listens; a kept target here would show as down

describe.skipIf(PROMETHEUS_MISSING !== undefined)(`monitoring on a real Prometheus${PROMETHEUS_MISSING ? ` (SKIPPED: ${PROMETHEUS_MISSING})` : ''}`, () => {
  let appAb: TestApp;
  let appC: TestApp;
  let appCPort: number;
  let revived: Server | undefined;
  const sidecars: Record<string, SidecarProcess> = {};
  let prometheus: PrometheusServer;
  const clients: WebSocket[] = [];
  const job = `${monitoringNamespace}/${podMonitor.metadata.name}`;

  beforeAll(async () => {
    appAb = await startApp();
    appC = await startApp();
    appCPort = appC.port;
    const upstream = (port: number) => ['--upstream', `http://127.0.0.1:${port}`];
    sidecars['chat-a'] = await startSidecarProcess([...upstream(appAb.port), '--max-connections', '3']);
    sidecars['chat-b'] = await startSidecarProcess([...upstream(appAb.port), '--drain-spread', '0.2', '--close-timeout', '1', '--drain-timeout', '5']);
    sidecars['chat-c'] = await startSidecarProcess(upstream(appC.port));

    // What Kubernetes SD would list: every container port of three running example pods, a
    // finished one, and another workload's container that happens to use the port name.
    const pod = (name: string, phase: PodInstance['phase'], adminPort: number, namespace = exampleNamespace, spec = examplePod.spec): PodInstance => ({
      namespace,
      name,
      labels: { ...examplePod.metadata.labels, 'pod-template-hash': '7d9f' },
      phase,
      spec,
      address: (container, port) => (port === 9090 && (container === 'ws-sidecar' || namespace !== exampleNamespace) ? `127.0.0.1:${adminPort}` : DEAD_PORT),
    });
    const decoy = { containers: [{ name: 'metrics', ports: [{ name: 'ws-sidecar-adm', containerPort: 9090 }] }] };
    const pods = [
      ...['chat-a', 'chat-b', 'chat-c'].map((name) => pod(name, 'Running', sidecars[name]!.adminPort)),
      pod('chat-old', 'Failed', sidecars['chat-a']!.adminPort),
      pod('exporter', 'Running', sidecars['chat-a']!.adminPort, 'other', decoy),
    ];
    // The shipped rules, expressions untouched; only `for:` and the evaluation interval shortened.
    const rules = { groups: shippedGroups.map((group) => ({ name: group.name, interval: '1s', rules: group.rules.map((rule) => ({ ...rule, for: '2s' })) })) };
    prometheus = await startPrometheus(
      {
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['rules.yml'],
        scrape_configs: [podMonitorScrapeConfig(podMonitor, monitoringNamespace, 'targets.yml', '1s')],
      },
      { 'rules.yml': rules, 'targets.yml': pods.flatMap(podTargets) },
    );
    // Traffic only once every sidecar was scraped at rest, so rates see it as an increase.
    await prometheus.until('three sidecars scraped', () => prometheus.query(`up{job="${job}"} == 1`), (result) => result.length === 3);
  }, 120_000); // three processes and a Prometheus on a shared 2-core machine

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await prometheus?.stop();
    for (const sidecar of Object.values(sidecars)) {
      sidecar.kill();
      await sidecar.exited;
    }
    await appAb?.close();
    await appC?.close().catch(() => undefined);
    revived?.close();
  });

  const chat = async (port: number, path: string, messages: number): Promise<WebSocket> => {
    const ws = await openClient(`ws://127.0.0.1:${port}${path}`);
    clients.push(ws);
    for (let i = 0; i < messages; i++) {
      const echoed = nextMessage(ws);
      ws.send(`message ${i}`);
      await echoed;
    }
    return ws;
  };

  it('keeps exactly the sidecar admin ports of running pods, labelled as the operator does', async () => {
    const targets = await prometheus.api<{ activeTargets: Array<{ labels: Record<string, string>; scrapePool: string }>; droppedTargets: Array<{ discoveredLabels: Record<string, string> }> }>('targets?state=any');
    const active = targets.activeTargets.map((target) => target.labels).sort((a, b) => a.pod!.localeCompare(b.pod!));
    expect(active).toEqual(
      ['chat-a', 'chat-b', 'chat-c'].map((pod) => ({ container: 'ws-sidecar', endpoint: 'ws-sidecar-adm', instance: `127.0.0.1:${sidecars[pod]!.adminPort}`, job, namespace: exampleNamespace, pod })),
    );
    const dropped = targets.droppedTargets.map((target) => `${target.discoveredLabels.__meta_kubernetes_pod_name}/${target.discoveredLabels.__meta_kubernetes_pod_container_name}:${target.discoveredLabels.__meta_kubernetes_pod_container_port_number}`);
    // Per running pod: the app's port and the sidecar's data port. The finished pod: all three. The decoy.
    expect(dropped.sort()).toEqual(['chat-a/chat:3000', 'chat-a/ws-sidecar:8080', 'chat-b/chat:3000', 'chat-b/ws-sidecar:8080', 'chat-c/chat:3000', 'chat-c/ws-sidecar:8080', 'chat-old/chat:3000', 'chat-old/ws-sidecar:8080', 'chat-old/ws-sidecar:9090', 'exporter/metrics:9090']);
  });

  it('has the series of the traffic it saw: connections, rejections, messages, closes by code', async () => {
    const a = sidecars['chat-a']!;
    const first = await chat(a.dataPort, '/a/1', 4);
    await chat(a.dataPort, '/a/2', 4);
    await chat(a.dataPort, '/a/3', 4);
    await expect(openClient(`ws://127.0.0.1:${a.dataPort}/a/over`)).rejects.toThrow('unexpected response 503');
    const firstClosed = closed(first);
    first.close(1000, 'bye');
    await firstClosed;
    await expect.poll(async () => ((await (await fetch(`http://127.0.0.1:${a.adminPort}/status`)).json()) as { connections: { active: number } }).connections.active, { timeout: 10_000 }).toBe(2);
    await chat(a.dataPort, '/a/4', 1);
    const b = sidecars['chat-b']!;
    const drained = await Promise.all([chat(b.dataPort, '/b/1', 2), chat(b.dataPort, '/b/2', 2)]).then((sockets) => sockets.map(closed));
    expect((await fetch(`http://127.0.0.1:${b.adminPort}/drain`, { method: 'POST' })).status).toBe(202);
    expect((await Promise.all(drained)).map((close) => close.code)).toEqual([1012, 1012]);
    await chat(sidecars['chat-c']!.dataPort, '/c/1', 1);

    const expected: Array<[string, number]> = [
      ['ws_sidecar_connections_total{pod="chat-a",outcome="accepted"}', 4],
      ['ws_sidecar_connections_total{pod="chat-a",outcome="rejected_capacity"}', 1],
      ['ws_sidecar_connections_total{pod="chat-b",outcome="accepted"}', 2],
      ['ws_sidecar_connections_active{pod="chat-a"}', 3],
      ['ws_sidecar_connections_active{pod="chat-b"}', 0],
      ['ws_sidecar_connections_active{pod="chat-c"}', 1],
      ['ws_sidecar_messages_total{pod="chat-a",direction="client_to_upstream"}', 13],
      ['ws_sidecar_messages_total{pod="chat-a",direction="upstream_to_client"}', 13],
      ['ws_sidecar_messages_total{pod="chat-b",direction="client_to_upstream"}', 4],
      ['ws_sidecar_closes_total{pod="chat-a",initiator="client",code="1000"}', 1],
      ['ws_sidecar_closes_total{pod="chat-b",initiator="sidecar",code="1012"}', 2],
      ['ws_sidecar_draining{pod="chat-b"}', 1],
      ['ws_sidecar_draining{pod="chat-a"}', 0],
    ];
    const value = async (selector: string) => (await prometheus.query(selector)).map((sample) => Number(sample.value[1]));
    for (const [selector, want] of expected) await prometheus.until(selector, () => value(selector), (got) => got.length === 1 && got[0] === want);
    expect(await value('sum(ws_sidecar_closes_total{code="1006"}) or vector(0)')).toEqual([0]);
  });

  it('evaluates every dashboard query on that data: no error, no empty panel, no NaN', async () => {
    const expressions = panelsOf(dashboard.panels).flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expression: grafanaQuery(target.expr) })));
    expect(expressions.length).toBeGreaterThan(15);
    for (const { panel, expression } of expressions) {
      const result = await prometheus.query(expression);
      // The Fleet row needs --fleet-redis, which these sidecars do not run: evaluated, may be empty.
      if (/ws_sidecar_(fleet|rebalance)_/.test(expression)) continue;
      expect(result.length, `${panel}: ${expression}`).toBeGreaterThan(0);
      for (const sample of result) expect(Number.isFinite(Number(sample.value[1])), `${panel}: ${expression} = ${sample.value[1]}`).toBe(true);
    }
    const single = async (title: string) => (await prometheus.query(grafanaQuery(panelsOf(dashboard.panels).find((panel) => panel.title === title)!.targets![0]!.expr))).map((s) => Number(s.value[1]));
    expect(await single('Active connections')).toEqual([4]);
    expect(await single('Pods draining')).toEqual([1]);
    expect(await single('Pods with the app unreachable')).toEqual([0]);
    // The template variables: label_values(<selector>, <label>) lists what the PodMonitor's labels carry.
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query!.query;
      const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(query)!;
      const values = await prometheus.api<string[]>(`label/${label}/values?match[]=${encodeURIComponent(grafanaQuery(selector!))}`);
      expect(values).toEqual(label === 'namespace' ? [exampleNamespace] : ['chat-a', 'chat-b', 'chat-c']);
    }
  });

  it('loads the shipped alert expressions unchanged, and each evaluates without error', async () => {
    const shipped = shippedGroups.flatMap((group) => group.rules);
    for (const rule of shipped) await prometheus.query(rule.expr);
    // Every rule evaluated at least once by the rule manager, healthy, on the same expression text.
    const loaded = await prometheus.until('every rule evaluated', () => loadedRules(prometheus), (rules) => rules.every((rule) => rule.health !== 'unknown'));
    expect(loaded.map((rule) => [rule.name, rule.health, rule.lastError ?? ''])).toEqual(shipped.map((rule) => [rule.alert, 'ok', '']));
    const same = async (text: string) => formatted(prometheus, text);
    expect(await Promise.all(loaded.map((rule) => same(rule.query)))).toEqual(await Promise.all(shipped.map((rule) => same(rule.expr))));
  });

  it('fires WsSidecarAtCapacity for the pod at its cap, with the annotations rendered', async () => {
    const alert = await prometheus.until('WsSidecarAtCapacity firing', () => firing(prometheus, 'WsSidecarAtCapacity'), (alerts) => alerts.length > 0);
    expect(alert.map((a) => a.labels.pod)).toEqual(['chat-a']);
    expect(alert[0]!.labels.severity).toBe('warning');
    expect(alert[0]!.annotations.summary).toBe(`ws-sidecar in ${exampleNamespace}/chat-a is at its connection cap`);
  });

  it('fires WsSidecarUpstreamDown when the app behind a sidecar goes away, and resolves when it is back', async () => {
    await appC.close();
    const down = await prometheus.until('WsSidecarUpstreamDown firing', () => firing(prometheus, 'WsSidecarUpstreamDown'), (alerts) => alerts.length > 0);
    expect(down.map((a) => [a.labels.pod, a.labels.severity])).toEqual([['chat-c', 'critical']]);
    expect(down[0]!.annotations.summary).toBe(`The app behind ws-sidecar in ${exampleNamespace}/chat-c is unreachable`);
    // The sidecar's upstream check is a TCP connect: a listener on the app's port brings it back.
    revived = createServer((socket) => socket.destroy());
    revived.listen(appCPort, '127.0.0.1');
    await once(revived, 'listening');
    await prometheus.until('WsSidecarUpstreamDown resolved', () => prometheus.api<{ alerts: Array<{ labels: Record<string, string> }> }>('alerts'), (data) => !data.alerts.some((a) => a.labels.alertname === 'WsSidecarUpstreamDown'));
    expect(await prometheus.query('ws_sidecar_upstream_up{pod="chat-c"}').then((r) => r.map((s) => s.value[1]))).toEqual(['1']);
  });
});

interface LoadedRule {
  name: string;
  query: string;
  health: string;
  lastError?: string;
}

async function loadedRules(prometheus: PrometheusServer): Promise<LoadedRule[]> {
  return (await prometheus.api<{ groups: Array<{ rules: LoadedRule[] }> }>('rules')).groups.flatMap((group) => group.rules);
}

/** The rules API shows expressions as Prometheus prints them; compare like with like. */
async function formatted(prometheus: PrometheusServer, expression: string): Promise<string> {
  return prometheus.api<string>(`format_query?query=${encodeURIComponent(expression)}`);
}

async function firing(prometheus: PrometheusServer, name: string): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string> }>> {
  const { alerts } = await prometheus.api<{ alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }> }>('alerts');
  return alerts.filter((alert) => alert.labels.alertname === name && alert.state === 'firing');
}
