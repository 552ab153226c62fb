// Admission through the real CLI: caps, per-IP limits, accept rate, close mode, exact slot accounting.
import type { Socket } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, openClient, startApp } from '../helpers/apps.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { attempt, metric, type Attempt } from '../helpers/upgrade-attempt.js';
import { withSidecar } from '../helpers/with-sidecar.js';

describe('admission', () => {
  it('cap 50: of 80 concurrent upgrades exactly 50 open and 30 get 503; closing 10 admits 10 more', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '50']);
    const url = `ws://127.0.0.1:${sidecar.dataPort}/`;
    try {
      const results = await Promise.all(Array.from({ length: 80 }, () => attempt(url)));
      const open = results.filter((r): r is Extract<Attempt, { kind: 'open' }> => r.kind === 'open');
      const refused = results.filter((r): r is Extract<Attempt, { kind: 'http' }> => r.kind === 'http');
      expect(open.length).toBe(50);
      expect(refused.length).toBe(30);
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
        expect(JSON.parse(r.body)).toMatchObject({ error: 'at_capacity' });
      }
      await Promise.all(open.slice(0, 10).map(({ ws }) => {
        const done = closed(ws);
        ws.close();
        return done;
      }));
      const again = await Promise.all(Array.from({ length: 12 }, () => attempt(url)));
      expect(again.filter((r) => r.kind === 'open').length).toBe(10);
      expect(again.filter((r) => r.kind === 'http').length).toBe(2);
      expect(await metric(sidecar.adminPort, /ws_sidecar_connections_total\{outcome="rejected_capacity"\} (\d+)/)).toBe(32);
      expect(await metric(sidecar.adminPort, /ws_sidecar_connections_total\{outcome="accepted"\} (\d+)/)).toBe(60);
      for (const r of [...open, ...again]) if (r.kind === 'open') r.ws.terminate();
    } finally {
      sidecar.kill();
      await app.close();
    }
  });

  it('close mode: the overflow gets a handshake, its first subprotocol and close 1013 with delay_ms; the app never sees it', async () => {
    await withSidecar({ app: { wsOptions: { handleProtocols: (protocols) => protocols.values().next().value ?? false } }, args: ['--max-connections', '5', '--reject-with', 'close'] }, async ({ app, sidecar }) => {
      const results = await Promise.all(Array.from({ length: 8 }, () => attempt(`ws://127.0.0.1:${sidecar.dataPort}/`, { protocols: ['v2.chat', 'v1.chat'] })));
      const handshakes = results.filter((r): r is Extract<Attempt, { kind: 'open' }> => r.kind === 'open');
      expect(handshakes.length).toBe(8);
      for (const r of handshakes) expect(r.ws.protocol).toBe('v2.chat');
      // Three are told to come back later; wait for exactly those three closes.
      const rejected: Array<{ code: number; reason: string }> = [];
      await new Promise<void>((resolve) => {
        for (const r of handshakes) void r.closed.then((info) => rejected.push(info) === 3 && resolve());
      });
      for (const r of rejected) {
        expect(r.code).toBe(1013);
        expect(r.reason).toMatch(/^at_capacity; delay_ms=\d+$/);
      }
      expect(handshakes.filter((r) => r.ws.readyState === WebSocket.OPEN).length).toBe(5);
      expect(app.upgrades.length).toBe(5);
      for (const r of handshakes) r.ws.terminate();
    });
  });

  it('limits per client IP, per address; believes X-Forwarded-For only from trusted proxies', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections-per-ip', '2', '--trusted-proxies', '127.0.0.4/32']);
    const url = `ws://127.0.0.1:${sidecar.dataPort}/`;
    const opened: WebSocket[] = [];
    const statuses = async (count: number, options: Parameters<typeof attempt>[1]): Promise<Array<number | 'open'>> => {
      const out: Array<number | 'open'> = [];
      for (let i = 0; i < count; i++) {
        const r = await attempt(url, options);
        if (r.kind === 'open') opened.push(r.ws);
        out.push(r.kind === 'open' ? 'open' : r.kind === 'http' ? r.status : -1);
      }
      return out;
    };
    try {
      expect(await statuses(3, { localAddress: '127.0.0.2' })).toEqual(['open', 'open', 429]);
      expect(await statuses(3, { localAddress: '127.0.0.3' })).toEqual(['open', 'open', 429]);
      // Through the trusted proxy, each forwarded client has its own allowance.
      expect(await statuses(3, { localAddress: '127.0.0.4', headers: { 'X-Forwarded-For': '203.0.113.9' } })).toEqual(['open', 'open', 429]);
      expect(await statuses(1, { localAddress: '127.0.0.4', headers: { 'X-Forwarded-For': '203.0.113.10, 127.0.0.4' } })).toEqual(['open']);
      // From an untrusted address the header is ignored: 127.0.0.2 is still full.
      expect(await statuses(1, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '198.51.100.1' } })).toEqual([429]);
      expect(await metric(sidecar.adminPort, /ws_sidecar_connections_total\{outcome="rejected_client_limit"\} (\d+)/)).toBe(4);
    } finally {
      for (const ws of opened) ws.terminate();
      sidecar.kill();
      await app.close();
    }
  });

  it('accept rate: burst 20 at 10/s admits about 20 of 100 simultaneous attempts and tells the rest to retry', async () => {
    await withSidecar({ args: ['--accept-rate', '10', '--accept-burst', '20'] }, async ({ sidecar }) => {
      const results = await Promise.all(Array.from({ length: 100 }, () => attempt(`ws://127.0.0.1:${sidecar.dataPort}/`)));
      const admitted = results.filter((r) => r.kind === 'open').length;
      const limited = results.filter((r) => r.kind === 'http' && r.status === 429 && Number(r.retryAfter) > 0).length;
      // 20 from the burst, plus what refilled while the attempts arrived (10/s).
      expect(admitted).toBeGreaterThanOrEqual(20);
      expect(admitted).toBeLessThan(40);
      expect(admitted + limited).toBe(100);
      expect(await metric(sidecar.adminPort, /ws_sidecar_connections_total\{outcome="rejected_rate"\} (\d+)/)).toBe(limited);
      for (const r of results) if (r.kind === 'open') r.ws.terminate();
    });
  });

  it('gives every slot back after 1,000 connections with client resets, app resets and app refusals', async () => {
    let n = 0;
    let chaos = true;
    const app = await startApp({
      wsOptions: { verifyClient: (_info, done) => done(!chaos || n++ % 5 !== 0, 403) },
      onConnection: (ws) => {
        if (!chaos) return;
        ws.on('message', () => (ws as unknown as { _socket: Socket })._socket.resetAndDestroy());
        if (Math.random() < 0.3) (ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
      },
    });
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '50']);
    const url = `ws://127.0.0.1:${sidecar.dataPort}/`;
    try {
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const r = await attempt(url);
            if (r.kind !== 'open') return;
            const ws = r.ws;
            const gone = r.closed;
            if (ws.readyState !== WebSocket.OPEN) return gone;
            if (i % 3 === 0) (ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
            else if (i % 3 === 1) ws.send('reset me');
            else ws.close();
            return gone;
          }),
        );
      }
      // All gone: the gauge drains to 0 and the cap admits a full 50 again.
      let active = await metric(sidecar.adminPort, /^ws_sidecar_connections_active (\d+)/m);
      while (active !== 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        active = await metric(sidecar.adminPort, /^ws_sidecar_connections_active (\d+)/m);
      }
      chaos = false;
      const again = await Promise.all(Array.from({ length: 50 }, () => attempt(url)));
      const openNow = again.filter((r): r is Extract<Attempt, { kind: 'open' }> => r.kind === 'open');
      expect(openNow.length).toBe(50);
      expect(await metric(sidecar.adminPort, /^ws_sidecar_connections_active (\d+)/m)).toBe(50);
      const total = await Promise.all(['accepted', 'upstream_failed', 'rejected_capacity'].map((outcome) => metric(sidecar.adminPort, new RegExp(`ws_sidecar_connections_total\\{outcome="${outcome}"\\} (\\d+)`))));
      expect(total.reduce((a, b) => a + b, 0)).toBe(1050);
      for (const r of openNow) r.ws.terminate();
    } finally {
      sidecar.kill();
      await app.close();
    }
  }, 90_000);

  it('--unready-at-capacity: readiness fails at the cap and recovers only below 90%', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '10', '--unready-at-capacity']);
    const ready = async (): Promise<{ status: number; reasons: string[] }> => {
      const response = await request(`http://127.0.0.1:${sidecar.adminPort}/readyz`);
      return { status: response.statusCode, reasons: ((await response.body.json()) as { reasons: string[] }).reasons };
    };
    try {
      const clients = await Promise.all(Array.from({ length: 10 }, () => openClient(`ws://127.0.0.1:${sidecar.dataPort}/`)));
      expect(await ready()).toEqual({ status: 503, reasons: ['at_capacity'] });
      const closeOne = async (): Promise<void> => {
        const ws = clients.pop()!;
        const done = closed(ws);
        ws.close();
        await done;
        // The sidecar sees the close a moment after the client: wait for its gauge.
        while ((await metric(sidecar.adminPort, /^ws_sidecar_connections_active (\d+)/m)) !== clients.length) await new Promise((r) => setTimeout(r, 20));
      };
      await closeOne(); // 9 of 10: not below 90% yet
      expect((await ready()).status).toBe(503);
      await closeOne(); // 8 of 10
      expect(await ready()).toEqual({ status: 200, reasons: [] });
      for (const ws of clients) ws.terminate();
    } finally {
      sidecar.kill();
      await app.close();
    }
  });
});
