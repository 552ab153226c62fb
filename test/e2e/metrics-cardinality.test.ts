// 10,000 connections from distinct client ports to distinct paths must not add a
// single ws_sidecar_ series: labels are closed enums, never ports, IPs or paths.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { closed, openClient, startApp, type TestApp } from '../helpers/apps.js';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const CONNECTIONS = 10_000;
const BATCH = 200;
const HTTP_REQUESTS = 200;

// Runtime-state families of prom-client's defaults: their `type`/`kind` label
// values follow what Node has open or collected, not what the traffic carried.
const RUNTIME_FAMILIES = /^nodejs_(active_(handles|requests|resources)|gc_duration_seconds)/;

describe('metrics cardinality', () => {
  let app: TestApp;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    app = await startApp();
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '0', '--max-pending-handshakes', '0', '--tenant-from', 'query:org', '--max-connections-per-tenant', '100']);
  });

  afterAll(async () => {
    sidecar?.kill();
    await sidecar?.exited;
    await app?.close();
  });

  const url = (path: string): string => `ws://127.0.0.1:${sidecar.dataPort}${path}`;

  /** Opens a connection, then closes it with 1000 or drops it without a close frame; returns its client port. */
  async function connectAndClose(path: string, how: 'close' | 'drop'): Promise<number> {
    const ws = await openClient(url(path), undefined, { perMessageDeflate: false });
    const localPort = (ws as WebSocket & { _socket: { localPort: number } })._socket.localPort;
    const done = closed(ws);
    if (how === 'close') ws.close(1000);
    else ws.terminate();
    await done;
    return localPort;
  }

  async function httpGet(path: string): Promise<void> {
    const response = await fetch(`http://127.0.0.1:${sidecar.dataPort}${path}`);
    await response.arrayBuffer();
    expect(response.status).toBe(200);
  }

  // ~15 s on an idle machine; the generous timeout is for busy CI runners (no speed is asserted).
  it(`adds no series over ${CONNECTIONS} connections from distinct ports to distinct paths`, { timeout: 120_000 }, async () => {
    // One of each kind first, so every label combination this traffic can produce exists.
    await connectAndClose('/warm-up', 'close');
    await connectAndClose('/warm-up', 'drop');
    await httpGet('/warm-up');
    const before = parseExposition(await scrape(sidecar.adminPort));

    const clientPorts = new Set<number>();
    for (let start = 0; start < CONNECTIONS; start += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, CONNECTIONS - start) }, (_, i) => {
        const n = start + i;
        return connectAndClose(`/tenant-${n % 97}/room/${n}?user=${n}&t=${n * 7919}&org=acme-${n}`, n % 2 === 0 ? 'close' : 'drop');
      });
      for (const port of await Promise.all(batch)) clientPorts.add(port);
    }
    for (let n = 0; n < HTTP_REQUESTS; n += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => httpGet(`/api/item/${n + i}?q=${n + i}`)));
    }
    // Many connections came from distinct ephemeral ports (the OS reuses some over 10,000).
    expect(clientPorts.size).toBeGreaterThan(1000);

    // A client sees 'close' slightly before the sidecar has let go of both sockets.
    await vi.waitFor(async () => expect(sample(parseExposition(await scrape(sidecar.adminPort)), 'ws_sidecar_connections_active')).toBe(0), {
      timeout: 10_000,
      interval: 50,
    });
    const after = parseExposition(await scrape(sidecar.adminPort));
    const ours = (series: Map<string, number>): string[] => [...series.keys()].filter((key) => key.startsWith('ws_sidecar_')).sort();
    expect(ours(after)).toEqual(ours(before));
    const stable = (series: Map<string, number>): string[] => [...series.keys()].filter((key) => !RUNTIME_FAMILIES.test(key)).sort();
    expect(stable(after)).toEqual(stable(before));

    // The traffic really went through, and was counted under the same series.
    expect(sample(after, 'ws_sidecar_connections_total', { outcome: 'accepted' })).toBe(CONNECTIONS + 2);
    expect(sample(after, 'ws_sidecar_closes_total', { initiator: 'client', code: '1000' })).toBe(CONNECTIONS / 2 + 1);
    expect(sample(after, 'ws_sidecar_closes_total', { initiator: 'client', code: '1006' })).toBe(CONNECTIONS / 2 + 1);
    expect(sample(after, 'ws_sidecar_http_requests_total', { code_class: '2xx' })).toBe(HTTP_REQUESTS + 1);

    // No label value anywhere carries a path, an address, a tenant (each user is one) or a client port.
    for (const key of after.keys()) {
      for (const [, label, value] of key.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        expect(value, key).not.toMatch(/\/|127\.0\.0\.1|tenant-\d|room|acme-/);
        // Histogram bounds (`le`) are numbers by design; no other label may be a port.
        if (label !== 'le') expect(clientPorts.has(Number(value)), key).toBe(false);
      }
    }
  });
});
