// /readyz on the real CLI: upstream checks (tcp, http:, ws:) against real apps, and draining.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from '../helpers/apps.js';
import { getJson } from '../helpers/admin-client.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

interface ReadyBody {
  ready: boolean;
  reasons: string[];
}

interface StatusBody {
  upstream: { check: string; up: boolean; reason: string };
}

describe('readiness', () => {
  const apps: TestApp[] = [];
  const sidecars: SidecarProcess[] = [];

  afterEach(async () => {
    for (const sidecar of sidecars.splice(0)) {
      sidecar.kill();
      await sidecar.exited;
    }
    for (const app of apps.splice(0)) await app.close();
  });

  async function app(options: Parameters<typeof startApp>[0] = {}): Promise<TestApp> {
    const started = await startApp(options);
    apps.push(started);
    return started;
  }

  async function sidecarFor(appPort: number, ...args: string[]): Promise<SidecarProcess> {
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${appPort}`, ...args]);
    sidecars.push(sidecar);
    return sidecar;
  }

  const readyz = (sidecar: SidecarProcess) => getJson<ReadyBody>(sidecar.adminPort, '/readyz');

  it('is ready while the app listens and reports upstream_unreachable once it is gone', async () => {
    const target = await app();
    const sidecar = await sidecarFor(target.port);
    const ready = await readyz(sidecar);
    expect(ready).toMatchObject({ status: 200, contentType: 'application/json', body: { ready: true, reasons: [] } });

    await target.close();
    apps.splice(apps.indexOf(target), 1);
    // The check is cached for a second: wait for the next one.
    await vi.waitFor(async () => expect((await readyz(sidecar)).status).toBe(503), { timeout: 5000, interval: 100 });
    expect((await readyz(sidecar)).body).toEqual({ ready: false, reasons: ['upstream_unreachable'] });
    const status = await getJson<StatusBody>(sidecar.adminPort, '/status');
    expect(status.body.upstream).toMatchObject({ check: 'tcp', up: false, reason: 'ECONNREFUSED' });
  });

  it('ws: does a real handshake and a clean close with the app', async () => {
    const target = await app();
    const sidecar = await sidecarFor(target.port, '--upstream-check', 'ws:/ready?probe=1');
    // Listen for the close as soon as the app has the connection: it may come before /readyz answers.
    const appClosed = target.nextConnection().then((ws) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))));
    expect(await readyz(sidecar)).toMatchObject({ status: 200, body: { ready: true, reasons: [] } });
    expect(target.upgrades[0]!.url).toBe('/ready?probe=1');
    expect(await appClosed).toBe(1000);
  });

  it('ws: fails when the app refuses upgrades, although tcp would pass', async () => {
    const refusing = await app({ wsOptions: { verifyClient: () => false } });
    const wsChecked = await sidecarFor(refusing.port, '--upstream-check', 'ws:/');
    const tcpChecked = await sidecarFor(refusing.port);
    expect(await readyz(wsChecked)).toMatchObject({ status: 503, body: { ready: false, reasons: ['upstream_unreachable'] } });
    expect((await getJson<StatusBody>(wsChecked.adminPort, '/status')).body.upstream).toMatchObject({ check: 'ws:/', up: false, reason: 'status 401' });
    expect(await readyz(tcpChecked)).toMatchObject({ status: 200, body: { ready: true } });
  });

  it('http: wants a 2xx from the path', async () => {
    const target = await app({
      httpHandler: (req, res) => {
        res.writeHead(req.url === '/healthy' ? 204 : 500);
        res.end();
      },
    });
    const healthy = await sidecarFor(target.port, '--upstream-check', 'http:/healthy');
    const broken = await sidecarFor(target.port, '--upstream-check', 'http:/broken');
    expect(await readyz(healthy)).toMatchObject({ status: 200, body: { ready: true, reasons: [] } });
    expect(await readyz(broken)).toMatchObject({ status: 503, body: { ready: false, reasons: ['upstream_unreachable'] } });
    expect((await getJson<StatusBody>(broken.adminPort, '/status')).body.upstream).toMatchObject({ check: 'http:/broken', up: false, reason: 'status 500' });
  });

  it('http: times out on an app that never answers', async () => {
    const target = await app({ httpHandler: () => undefined });
    const sidecar = await sidecarFor(target.port, '--upstream-check', 'http:/slow', '--connect-timeout', '0.3');
    expect(await readyz(sidecar)).toMatchObject({ status: 503, body: { reasons: ['upstream_unreachable'] } });
    expect((await getJson<StatusBody>(sidecar.adminPort, '/status')).body.upstream).toMatchObject({ up: false, reason: 'timeout' });
  });

  it('reports draining from the moment a drain starts', async () => {
    const target = await app();
    const sidecar = await sidecarFor(target.port, '--drain-delay', '5', '--drain-timeout', '30');
    expect((await readyz(sidecar)).status).toBe(200);
    const drain = await getJson(sidecar.adminPort, '/drain', { method: 'POST' });
    expect(drain).toMatchObject({ status: 202, body: { draining: true, phase: 'delaying' } });
    expect(await readyz(sidecar)).toMatchObject({ status: 503, body: { ready: false, reasons: ['draining'] } });
    const status = await getJson<{ drain: unknown; ready: boolean }>(sidecar.adminPort, '/status');
    expect(status.body).toMatchObject({ ready: false, drain: { draining: true, phase: 'delaying' } });
  });
});
