// Worst-case memory: N clients that stop reading while the app streams to them.
// Reports the sidecar's RSS before the clients, with them connected and reading,
// and once the stream has stalled on every paused client; per connection too.
//   npx tsx load/slow-readers.ts [--clients 1000,3000] [-- extra sidecar flags]
// WS_SIDECAR_CLI=/other/dist/proxy/main.js compares another build.
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_PATH, startSidecarProcess } from '../test/helpers/sidecar-process.js';
import { closeClients, openClients } from './client-pool.js';
import { startNodeChild } from './node-child.js';
import { rssBytes } from './proc-stats.js';

const MiB = 1024 * 1024;

async function forwardedToClients(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return Number(/ws_sidecar_bytes_total\{direction="upstream_to_client"\} (\d+)/.exec(text)?.[1] ?? 0);
}

export interface SlowReadersResult {
  clients: number;
  rssIdleMiB: number;
  rssStalledMiB: number;
  perConnectionKiB: number;
}

export async function runSlowReaders(clients: number, sidecarArgs: readonly string[] = []): Promise<SlowReadersResult> {
  const app = await startNodeChild('stream-app.ts');
  const cli = process.env.WS_SIDECAR_CLI || CLI_PATH;
  const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '0', '--log-level', 'warn', ...sidecarArgs], {}, cli);
  try {
    await sleep(500);
    const rssStart = rssBytes(sidecar.child.pid!);
    const sockets = await openClients(sidecar.dataPort, clients, 200);
    // Every client stops reading at once: the stream backs up into the kernel and the proxy.
    for (const ws of sockets) (ws as unknown as { _socket: Socket })._socket.pause();
    // Stalled when the bytes forwarded to clients stop growing.
    let last = -1;
    let now = await forwardedToClients(sidecar.adminPort);
    while (now !== last) {
      await sleep(1000);
      last = now;
      now = await forwardedToClients(sidecar.adminPort);
    }
    const rssStalled = rssBytes(sidecar.child.pid!);
    const result = {
      clients,
      rssIdleMiB: rssStart / MiB,
      rssStalledMiB: rssStalled / MiB,
      perConnectionKiB: (rssStalled - rssStart) / clients / 1024,
    };
    for (const ws of sockets) (ws as unknown as { _socket: Socket })._socket.resume();
    await closeClients(sockets);
    return result;
  } finally {
    sidecar.kill();
    await app.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--clients');
  const counts = (at > 0 ? process.argv[at + 1]! : '1000,3000').split(',').map(Number);
  const dash = process.argv.indexOf('--');
  const extra = dash > 0 ? process.argv.slice(dash + 1) : [];
  for (const count of counts) {
    const r = await runSlowReaders(count, extra);
    console.log(
      `${r.clients} slow readers: sidecar RSS ${r.rssIdleMiB.toFixed(1)} → ${r.rssStalledMiB.toFixed(1)} MiB (+${r.perConnectionKiB.toFixed(1)} KiB per connection)`,
    );
  }
}
