// The admin port: liveness, readiness, metrics, status, the status page and the
// drain trigger. Never on the data port.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../config/config.js';
import type { Drain } from '../drain/drain.js';
import { authorizeDrain } from '../drain/drain-auth.js';
import type { Logger } from '../config/logger.js';
import type { LoopHealth } from './loop-health.js';
import type { Metrics } from '../metrics/metrics.js';
import type { FleetView } from '../fleet/fleet-view.js';
import { checkReadiness, type NotReadyReason } from './readiness.js';
import { buildStatus } from './status.js';
import type { UpstreamProbe } from './upstream-check.js';
import { pageHeaders } from './page-headers.js';

export interface AdminDeps {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly drain: Drain;
  readonly probe: UpstreamProbe;
  readonly loopHealth: LoopHealth;
  /** The data plane in use (shown in /status). */
  readonly dataPlane: { readonly name: 'js' | 'native'; readonly fallbackReason: string | undefined };
  /** Live WebSocket connections (the registry's size). */
  readonly activeConnections: () => number;
  /** Extra readiness reasons (e.g. at capacity), empty when none. */
  readonly notReadyReasons: () => NotReadyReason[];
  /** The fleet as this pod sees it; undefined without --fleet-redis. */
  readonly fleetView: (() => FleetView) | undefined;
  readonly logger: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

// Shipped beside the compiled module (the build copies it into dist/proxy/).
const STATUS_PAGE = readFileSync(new URL('./status-page.html', import.meta.url));

// The page is ours alone: inline script and style, fetches to this origin, nothing else.
const STATUS_PAGE_HEADERS = pageHeaders(STATUS_PAGE);

export function createAdminServer(deps: AdminDeps): Server {
  const startedAtMs = Date.now();
  const routes: Record<string, Handler> = {
    '/healthz': (_req, res) => {
      const { healthy, ...details } = deps.loopHealth.state();
      sendJson(res, healthy ? 200 : 503, { ok: healthy, ...details });
    },
    '/readyz': async (_req, res) => {
      const { ready, reasons } = await checkReadiness(deps);
      sendJson(res, ready ? 200 : 503, { ready, reasons });
    },
    '/metrics': async (_req, res) => {
      // upstream_up stays current even when nothing probes /readyz (standalone mode).
      await deps.probe.probe();
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store' });
      res.end(body);
    },
    '/status': async (_req, res) => {
      sendJson(res, 200, await buildStatus({ ...deps, startedAtMs }));
    },
    '/fleet': (_req, res) => {
      // Never touches the store: the view is the last heartbeat's, so this answers at once.
      if (!deps.fleetView) return sendJson(res, 404, { error: 'fleet_mode_off', hint: 'start the sidecar with --fleet-redis' });
      sendJson(res, 200, deps.fleetView());
    },
    '/': (_req, res) => {
      res.writeHead(200, STATUS_PAGE_HEADERS);
      res.end(STATUS_PAGE);
    },
    '/drain': async (req, res, url) => {
      if (req.method !== 'GET' && req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
      const auth = authorizeDrain(req, deps.config.drainToken);
      if (!auth.allowed) return sendJson(res, auth.status, { error: auth.reason });
      const finished = deps.drain.start(`http ${req.method} /drain`);
      if (url.searchParams.get('wait') !== '1') return sendJson(res, 202, { draining: true, phase: deps.drain.phase });
      const summary = await finished;
      sendJson(res, 200, { drained: true, ...summary });
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = routes[url.pathname];
    if (!route) return sendJson(res, 404, { error: 'not_found' });
    if (url.pathname !== '/drain' && req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'method_not_allowed' });
    }
    Promise.resolve(route(req, res, url)).catch((err: unknown) => {
      deps.logger.warn({ err, path: url.pathname }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error' });
      else res.destroy();
    });
  });
  return server;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
