// The admin port of the real CLI: liveness, /status contents, routing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/apps.js';
import { getJson } from '../helpers/admin-client.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const TOKEN = 'tok-3f9a1c77e2';

describe('admin endpoints', () => {
  let app: TestApp;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    app = await startApp();
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '25', '--drain-spread', '2.5'], {
      WS_SIDECAR_DRAIN_TOKEN: TOKEN,
    });
  });

  afterAll(async () => {
    sidecar?.kill();
    await sidecar?.exited;
    await app?.close();
  });

  it('/status: version, uptime, config without secrets, counts, drain and upstream state', async () => {
    const response = await fetch(`http://127.0.0.1:${sidecar.adminPort}/status`);
    const text = await response.text();
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(text).not.toContain(TOKEN);
    const status = JSON.parse(text) as Record<string, any>;
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(status.startedAt)).not.toBeNaN();
    expect(status.config).toMatchObject({
      'drain-token': '(redacted)',
      'max-connections': 25,
      'drain-spread': 2.5,
      upstream: `127.0.0.1:${app.port}`,
      'upstream-check': 'tcp',
    });
    expect(status.connections).toEqual({
      active: 0,
      max: 25,
      outcomes: { accepted: 0, rejected_capacity: 0, rejected_client_limit: 0, rejected_tenant_limit: 0, rejected_fleet_capacity: 0, rejected_rate: 0, rejected_draining: 0, upstream_failed: 0 },
      closesByInitiator: { client: 0, upstream: 0, sidecar: 0 },
    });
    expect(status.drain).toEqual({ draining: false, phase: 'running' });
    expect(status.upstream).toMatchObject({ check: 'tcp', up: true, reason: 'ok' });
    expect(status).toMatchObject({ ready: true, reasons: [], eventLoop: { healthy: true } });
  });

  it('answers unknown paths with 404 and writes with 405', async () => {
    expect(await getJson(sidecar.adminPort, '/nope')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    const post = await getJson(sidecar.adminPort, '/status', { method: 'POST' });
    expect(post).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } });
  });

  it('serves the status page as HTML', async () => {
    const response = await fetch(`http://127.0.0.1:${sidecar.adminPort}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/i);
    // Self-contained: nothing loaded from elsewhere.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  // Last: it stalls the process (SIGSTOP freezes it, event loop included; SIGKILL still ends it).
  it('/healthz: 200 while the loop turns, 503 after the loop was stalled past the threshold', async () => {
    expect(await getJson(sidecar.adminPort, '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
    sidecar.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    sidecar.child.kill('SIGCONT');
    const health = await getJson<{ ok: boolean; reason: string; lagMs: number }>(sidecar.adminPort, '/healthz');
    expect(health).toMatchObject({ status: 503, body: { ok: false, reason: 'event_loop_blocked' } });
    expect(health.body.lagMs).toBeGreaterThanOrEqual(2000);
  });
});
