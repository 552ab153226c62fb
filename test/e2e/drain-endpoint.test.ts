// Who may drain: bearer token when one is set, loopback callers otherwise; and the CLI trigger.
import { networkInterfaces } from 'node:os';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { decideDrainAuthorization } from '../../proxy/drain/drain-auth.js';
import { closed, openClient, startApp } from '../helpers/apps.js';
import { runCli, startSidecarProcess } from '../helpers/sidecar-process.js';
import { withSidecar } from '../helpers/with-sidecar.js';

function nonLoopbackAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

describe('drain authorization (decision)', () => {
  it('without a token, allows loopback callers only', () => {
    expect(decideDrainAuthorization('127.0.0.1', undefined, '')).toEqual({ allowed: true });
    expect(decideDrainAuthorization('127.8.9.10', undefined, '')).toEqual({ allowed: true });
    expect(decideDrainAuthorization('::1', undefined, '')).toEqual({ allowed: true });
    expect(decideDrainAuthorization('::ffff:127.0.0.1', undefined, '')).toEqual({ allowed: true });
    expect(decideDrainAuthorization('10.1.2.3', undefined, '')).toMatchObject({ allowed: false, status: 403 });
    expect(decideDrainAuthorization('::ffff:10.1.2.3', undefined, '')).toMatchObject({ allowed: false, status: 403 });
    expect(decideDrainAuthorization(undefined, undefined, '')).toMatchObject({ allowed: false, status: 403 });
  });

  it('without a token, refuses what a web page could forge: a foreign Origin, a non-loopback Host (DNS rebinding)', () => {
    const local = { host: '127.0.0.1:9090' };
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', local)).toEqual({ allowed: true });
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', { host: 'localhost:9090', origin: 'http://localhost:9090' })).toEqual({ allowed: true });
    expect(decideDrainAuthorization('::1', undefined, '', { host: '[::1]:9090' })).toEqual({ allowed: true });
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', { ...local, origin: 'https://evil.example' })).toMatchObject({ allowed: false, status: 403, reason: 'drain_foreign_origin' });
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', { ...local, origin: 'null' })).toMatchObject({ allowed: false, status: 403 });
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', { ...local, origin: 'http://localhost:3000' })).toMatchObject({ allowed: false, status: 403 });
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', { host: 'evil.example:9090' })).toMatchObject({ allowed: false, status: 403, reason: 'drain_host_not_loopback' });
    expect(decideDrainAuthorization('127.0.0.1', undefined, '', { host: '127.0.0.1.evil.example' })).toMatchObject({ allowed: false, status: 403 });
  });

  it('with a token, requires it from everyone, loopback included', () => {
    expect(decideDrainAuthorization('127.0.0.1', undefined, 's3cret')).toMatchObject({ allowed: false, status: 401 });
    expect(decideDrainAuthorization('127.0.0.1', 'Bearer wrong', 's3cret')).toMatchObject({ allowed: false, status: 403 });
    expect(decideDrainAuthorization('127.0.0.1', 'Basic czNjcmV0', 's3cret')).toMatchObject({ allowed: false, status: 401 });
    expect(decideDrainAuthorization('10.1.2.3', 'Bearer s3cret', 's3cret')).toEqual({ allowed: true });
    expect(decideDrainAuthorization('10.1.2.3', 'bearer s3cret', 's3cret')).toEqual({ allowed: true });
  });
});

describe('/drain over real sockets', () => {
  it('answers a GET /drain with a foreign Origin, or a rebound Host, 403 and keeps running', async () => {
    await withSidecar({}, async ({ sidecar, wsUrl }) => {
      const url = `http://127.0.0.1:${sidecar.adminPort}/drain`;
      const forged = await request(url, { headers: { origin: 'https://evil.example' } });
      expect(forged.statusCode).toBe(403);
      expect(await forged.body.json()).toMatchObject({ error: 'drain_foreign_origin' });
      const rebound = await request(url, { headers: { host: `attacker.example:${sidecar.adminPort}` } });
      expect(rebound.statusCode).toBe(403);
      await rebound.body.dump();
      const ready = await request(`http://127.0.0.1:${sidecar.adminPort}/readyz`);
      expect(ready.statusCode).toBe(200);
      await ready.body.dump();
      const ws = await openClient(wsUrl);
      ws.close();
      await closed(ws);
      // The sidecar's own page (same origin) may still drain.
      const own = await request(url, { method: 'POST', headers: { origin: `http://127.0.0.1:${sidecar.adminPort}` } });
      expect(own.statusCode).toBe(202);
      await own.body.dump();
    });
  });

  it('refuses a wrong or missing token, then drains with the right one and answers when done', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--drain-spread', '0'], { WS_SIDECAR_DRAIN_TOKEN: 'tok-123' });
    const drainUrl = `http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`;
    try {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const wsClosed = closed(ws);
      const missing = await request(drainUrl, { method: 'POST' });
      expect(missing.statusCode).toBe(401);
      await missing.body.text();
      const wrong = await request(drainUrl, { method: 'POST', headers: { authorization: 'Bearer nope' } });
      expect(wrong.statusCode).toBe(403);
      await wrong.body.text();
      expect(ws.readyState).toBe(ws.OPEN);

      const right = await request(drainUrl, { method: 'GET', headers: { authorization: 'Bearer tok-123' } });
      expect(right.statusCode).toBe(200);
      expect(await right.body.json()).toMatchObject({ drained: true, connectionsAtStart: 1, connectionsDrained: 1 });
      expect((await wsClosed).code).toBe(1012);
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('refuses a tokenless drain from a non-loopback address', async (context) => {
    const address = nonLoopbackAddress();
    if (!address) {
      context.skip();
      return;
    }
    await withSidecar({ args: ['--admin-listen', '0.0.0.0:0'] }, async ({ sidecar }) => {
      const remote = await request(`http://${address}:${sidecar.adminPort}/drain`, { method: 'POST', localAddress: address } as Parameters<typeof request>[1]);
      expect(remote.statusCode).toBe(403);
      expect(await remote.body.json()).toEqual({ error: 'drain_from_loopback_only' });
      const local = await request(`http://127.0.0.1:${sidecar.adminPort}/drain`, { method: 'POST' });
      expect(local.statusCode).toBe(202);
      await local.body.text();
    });
  });

  it('`ws-sidecar drain --wait` triggers the drain and prints the summary', async () => {
    await withSidecar({ args: ['--drain-spread', '0'], env: { WS_SIDECAR_DRAIN_TOKEN: 'abc' } }, async ({ sidecar }) => {
      const ws = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const denied = await runCli(['drain', '--admin', `http://127.0.0.1:${sidecar.adminPort}`, '--token', 'wrong']);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('bad_token');
      const result = await runCli(['drain', '--admin', `http://127.0.0.1:${sidecar.adminPort}`, '--wait'], { env: { WS_SIDECAR_DRAIN_TOKEN: 'abc' } });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ drained: true, connectionsDrained: 1 });
      expect(ws.readyState).toBe(ws.CLOSED);
      const usage = await runCli(['drain', '--admin', 'not a url']);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('--admin');
      const unreachable = await runCli(['drain', '--admin', 'http://127.0.0.1:1']);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toContain('cannot reach');
    });
  });
});
