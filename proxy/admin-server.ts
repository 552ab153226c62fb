// The admin port: liveness, readiness, metrics and the drain trigger. Never on the data port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Drain } from './drain.js';
import { authorizeDrain } from './drain-auth.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { UpstreamProbe } from './upstream-check.js';

export interface AdminDeps {
  readonly metrics: Metrics;
  readonly drain: Drain;
  readonly probe: UpstreamProbe;
  readonly drainToken: string;
  /** Extra readiness reasons (e.g. at capacity), empty when none. */
  readonly notReadyReasons: () => string[];
  readonly logger: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export function createAdminServer(deps: AdminDeps): Server {
  const routes: Record<string, Handler> = {
    '/healthz': (_req, res) => sendJson(res, 200, { ok: true }),
    '/readyz': async (_req, res) => {
      const reasons = [...deps.notReadyReasons()];
      if (deps.drain.isDraining) reasons.push('draining');
      const upstream = await deps.probe.probe();
      if (!upstream.up) reasons.push('upstream_unreachable');
      sendJson(res, reasons.length === 0 ? 200 : 503, { ready: reasons.length === 0, reasons });
    },
    '/metrics': async (_req, res) => {
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType });
      res.end(body);
    },
    '/drain': async (req, res, url) => {
      if (req.method !== 'GET' && req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
      const auth = authorizeDrain(req, deps.drainToken);
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
