// The rollout demo's page and its API, on loopback: GET / (the page), GET /state (JSON the page
// polls), POST /roll, /kill, /scale, /sidecars?on=0|1, /sending?on=0|1. Buttons are POSTs from
// the page itself; a request from any other origin is refused.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { sendJson } from '../admin/admin-server.js';
import { pageHeaders } from '../admin/page-headers.js';
import type { RolloutSimulation } from './rollout-simulation.js';

// Shipped beside the compiled module (the build copies it into dist/proxy/demo/).
const PAGE = readFileSync(new URL('./rollout-page.html', import.meta.url));

// The status page's discipline: inline script and style, fetches to this origin, nothing else.
const PAGE_HEADERS = pageHeaders(PAGE);

export interface SimulationState {
  readonly action: string;
  readonly withSidecars: boolean;
  readonly sending: boolean;
  readonly clients: number;
  readonly connected: number;
  readonly pods: Array<{ name: string; sidecar: boolean; state: string; ready: boolean; connections: number; rebalance?: string }>;
  /** Fleet mode only: the fleet as the first running sidecar sees it. */
  readonly fleet: { storeUp: boolean; pods: number; connections: number; fairShare: number; moved: number } | null;
  readonly closes: Record<string, number>;
  readonly reconnects: number;
  readonly reconnectsPerSecond: number;
  readonly failedConnects: number;
  readonly messages: { sent: number; acknowledged: number; lostAtClose: number; outstanding: number };
  readonly rollouts: RolloutSimulation['rollouts'];
}

export function simulationState(sim: RolloutSimulation): SimulationState {
  const view = sim.pods.map((pod) => pod.fleetView).find((fleet) => fleet !== undefined);
  const rebalanceOf = (pod: RolloutSimulation['pods'][number]): { rebalance?: string } => {
    const status = pod.fleetView?.rebalance;
    return status ? { rebalance: status.reason ? `${status.state}: ${status.reason}` : status.state } : {};
  };
  return {
    action: sim.action,
    withSidecars: sim.withSidecars,
    sending: sim.sending,
    clients: sim.options.clients,
    connected: sim.connected,
    pods: sim.pods.map((pod) => ({ name: pod.name, sidecar: pod.withSidecar, state: pod.state, ready: sim.front.isReady(pod.port), connections: pod.connections, ...rebalanceOf(pod) })),
    fleet: view ? { storeUp: view.storeUp, pods: view.pods.length, connections: view.connections, fairShare: view.fairShare, moved: sim.closesByReason().rebalancing ?? 0 } : null,
    closes: Object.fromEntries([...sim.tally.closeCodes].sort(([a], [b]) => a - b).map(([code, count]) => [String(code), count])),
    reconnects: sim.tally.reconnectTimes.length,
    reconnectsPerSecond: sim.reconnectsPerSecond(),
    failedConnects: sim.tally.failedConnects,
    messages: { sent: sim.tally.sent, acknowledged: sim.tally.acknowledged, lostAtClose: sim.tally.unackedAtClose, outstanding: sim.outstanding },
    rollouts: sim.rollouts,
  };
}

export function createRolloutServer(sim: RolloutSimulation, log: (line: string) => void = () => undefined): Server {
  const actions: Record<string, (url: URL) => Promise<void> | void> = {
    '/roll': () => sim.roll(),
    '/kill': () => sim.kill(),
    '/scale': () => sim.scaleOut(),
    '/sidecars': (url) => void (sim.withSidecars = url.searchParams.get('on') !== '0'),
    '/sending': (url) => sim.setSending(url.searchParams.get('on') !== '0'),
  };
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, PAGE_HEADERS);
      res.end(PAGE);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/state') return sendJson(res, 200, simulationState(sim));
    const action = actions[url.pathname];
    if (!action) return sendJson(res, 404, { error: 'not_found' });
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
    if (!sameOrigin(req)) return sendJson(res, 403, { error: 'foreign_origin' });
    if (sim.action !== 'idle' && url.pathname !== '/sidecars' && url.pathname !== '/sending') return sendJson(res, 409, { error: 'busy', action: sim.action });
    // Long actions run on; the page follows them through /state.
    Promise.resolve(action(url)).then(
      () => log(`demo: ${url.pathname.slice(1)} done`),
      (err: unknown) => log(`demo: ${url.pathname.slice(1)} failed: ${(err as Error).message}`),
    );
    sendJson(res, 202, { accepted: url.pathname.slice(1) });
  });
}

/** A browser always sends Origin on a POST; only the page's own is accepted (no cross-site buttons). */
function sameOrigin(req: IncomingMessage): boolean {
  const host = req.headers.host ?? '';
  // A loopback Host only: a foreign name resolving to 127.0.0.1 (DNS rebinding) is not us.
  if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host)) return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${host}`;
}
