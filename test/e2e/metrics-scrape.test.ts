// /metrics on the real CLI with real traffic: values exact, exposition valid.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { closed, nextMessage, openClient, startApp, type TestApp } from '../helpers/apps.js';
import { getJson, hasPromtool, parseExposition, promtoolProblems, sample, scrape } from '../helpers/admin-client.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const C2U = { direction: 'client_to_upstream' };
const U2C = { direction: 'upstream_to_client' };

describe('metrics scraped from the running sidecar', () => {
  let app: TestApp;
  let sidecar: SidecarProcess;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    app = await startApp();
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '50', '--drain-spread', '0']);
  });

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    sidecar?.kill();
    await sidecar?.exited;
    await app?.close();
  });

  const metrics = async (): Promise<Map<string, number>> => parseExposition(await scrape(sidecar.adminPort));

  it('counts connections, messages and payload bytes exactly', async () => {
    for (let i = 0; i < 3; i++) {
      clients.push(await openClient(`ws://127.0.0.1:${sidecar.dataPort}/room/${i}`, undefined, { perMessageDeflate: false }));
    }
    // 7 messages each way over the 3 connections (3 + 2 + 2), text and binary, of varied sizes.
    const messages = [
      { client: 0, data: 'hello' },
      { client: 0, data: Buffer.alloc(300, 7) },
      { client: 0, data: 'x'.repeat(70_000) },
      { client: 1, data: '' },
      { client: 1, data: 'héllo wörld' },
      { client: 2, data: Buffer.from([1, 2, 3]) },
      { client: 2, data: 'z'.repeat(126) },
    ];
    let expectedBytes = 0;
    for (const { client, data } of messages) {
      const ws = clients[client]!;
      const echoed = nextMessage(ws);
      ws.send(data);
      const reply = await echoed;
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      expect(reply.data.length).toBe(size);
      expectedBytes += size;
    }
    expect(expectedBytes).toBe(5 + 300 + 70_000 + 0 + 13 + 3 + 126);

    const series = await metrics();
    expect(sample(series, 'ws_sidecar_connections_active')).toBe(3);
    expect(sample(series, 'ws_sidecar_connections_max')).toBe(50);
    expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'accepted' })).toBe(3);
    expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'rejected_capacity' })).toBe(0);
    expect(sample(series, 'ws_sidecar_messages_total', C2U)).toBe(7);
    expect(sample(series, 'ws_sidecar_messages_total', U2C)).toBe(7);
    expect(sample(series, 'ws_sidecar_bytes_total', C2U)).toBe(expectedBytes);
    expect(sample(series, 'ws_sidecar_bytes_total', U2C)).toBe(expectedBytes);
    expect(sample(series, 'ws_sidecar_upgrade_duration_seconds_count')).toBe(3);
    expect(sample(series, 'ws_sidecar_upstream_up')).toBe(1);
    expect(sample(series, 'ws_sidecar_draining')).toBe(0);

    // /status reads the same counters: one bookkeeping.
    const status = await getJson<{ connections: { active: number; outcomes: Record<string, number> }; traffic: { bytes: Record<string, number> } }>(sidecar.adminPort, '/status');
    expect(status.body.connections.active).toBe(3);
    expect(status.body.connections.outcomes.accepted).toBe(3);
    expect(status.body.traffic.bytes).toEqual({ client_to_upstream: expectedBytes, upstream_to_client: expectedBytes });
  });

  it('counts closes by initiator and close code', async () => {
    const [byClient, byApp, byReset] = clients;
    const appSockets = app.sockets.slice(0, 3);
    expect(appSockets).toHaveLength(3);

    // The client closes cleanly with 1000.
    const clientDone = closed(byClient!);
    byClient!.close(1000, 'bye');
    expect((await clientDone).code).toBe(1000);

    // The app closes with a private code: counted as the "4xxx" class.
    const appDone = closed(byApp!);
    appSockets[1]!.close(4001, 'app says bye');
    expect(await appDone).toEqual({ code: 4001, reason: 'app says bye' });

    // The client vanishes without a close frame: 1006.
    byReset!.terminate();

    await vi.waitFor(async () => expect(sample(await metrics(), 'ws_sidecar_connections_active')).toBe(0), { timeout: 10_000, interval: 50 });

    // A drain closes the last one: the sidecar initiates with 1012.
    const drained = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/late`, undefined, { perMessageDeflate: false });
    clients.push(drained);
    const drainedDone = closed(drained);
    const drain = await getJson(sidecar.adminPort, '/drain', { method: 'POST' });
    expect(drain.status).toBe(202);
    expect((await drainedDone).code).toBe(1012);
    await vi.waitFor(async () => expect(sample(await metrics(), 'ws_sidecar_connections_active')).toBe(0), { timeout: 10_000, interval: 50 });

    const series = await metrics();
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'client', code: '1000' })).toBe(1);
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'upstream', code: '4xxx' })).toBe(1);
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'client', code: '1006' })).toBe(1);
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'sidecar', code: '1012' })).toBe(1);
    // The design's closes are exported from 0 (rate() sees the first); only these four counted.
    const closeSeries = [...series.keys()].filter((key) => key.startsWith('ws_sidecar_closes_total'));
    expect(closeSeries.filter((key) => series.get(key)! > 0)).toHaveLength(4);
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'sidecar', code: '1014' })).toBe(0);
    expect(sample(series, 'ws_sidecar_connection_duration_seconds_count')).toBe(4);
    expect(sample(series, 'ws_sidecar_draining')).toBe(1);
    expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'accepted' })).toBe(4);
  });

  const promtool = hasPromtool();
  it.skipIf(!promtool)(`passes promtool check metrics on a real scrape${promtool ? '' : ' (SKIPPED: promtool not installed; Debian package "prometheus")'}`, async () => {
    expect(promtoolProblems(await scrape(sidecar.adminPort))).toEqual([]);
  });
});
