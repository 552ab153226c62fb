// Out of file descriptors, the data listener drops connections where it can see them:
// counted, logged at a rate, survived — and the app side keeps the fds it needs.
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closed, nextMessage, openClient, startApp } from '../helpers/apps.js';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { CLI_PATH, startSidecarProcess } from '../helpers/sidecar-process.js';

describe('accept failures', () => {
  it('counts and logs connections dropped at the open-files limit, and keeps serving', async () => {
    const app = await startApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`], {}, CLI_PATH, { openFilesLimit: 150 });
    const clients: WebSocket[] = [];
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 150 }, () => {
          const ws = new WebSocket(`ws://127.0.0.1:${sidecar.dataPort}/`);
          clients.push(ws);
          return new Promise<'open' | 'failed'>((resolve) => {
            ws.once('open', () => resolve('open'));
            ws.once('error', () => resolve('failed'));
          });
        }),
      );
      const opened = outcomes.filter((outcome) => outcome === 'open').length;
      expect(opened).toBeGreaterThan(0);
      expect(opened).toBeLessThan(150);
      const series = parseExposition(await scrape(sidecar.adminPort));
      const dropped = sample(series, 'ws_sidecar_accept_failures_total', { reason: 'fd_limit' })!;
      expect(dropped).toBe(150 - opened);
      // Every admitted client reached the app: the fds it needed were left free.
      expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'upstream_failed' })).toBe(0);
      const warning = await sidecar.waitForLog((line) => line.msg === 'accepts failing: connections dropped');
      expect(warning.reason).toBe('fd_limit');
      // One line for the whole burst, not one per connection.
      expect(sidecar.logs.filter((line) => line.msg === warning.msg).length).toBe(1);

      for (const ws of clients) ws.terminate();
      await Promise.all(clients.filter((ws) => ws.readyState !== WebSocket.CLOSED).map((ws) => closed(ws)));
      const after = await openClient(`ws://127.0.0.1:${sidecar.dataPort}/`);
      const echoed = nextMessage(after);
      after.send('still here');
      expect((await echoed).data.toString()).toBe('still here');
      after.close();
    } finally {
      for (const ws of clients) ws.terminate();
      sidecar.kill();
      await app.close();
    }
  });
});
