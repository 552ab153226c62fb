// One pod of a fleet for the rebalance scenarios: the echo app and the real sidecar CLI in
// fleet mode (a shared redis-server), with its admin port, so the run can read each pod's
// connections and admissions as Prometheus would.
import { parseExposition, sample, scrape } from '../../test/helpers/admin-client.js';
import { startSidecarProcess, type SidecarProcess } from '../../test/helpers/sidecar-process.js';
import { startNodeChild } from '../node-child.js';
import { SIDECAR_CLI } from '../peers.js';

export interface FleetPod {
  readonly name: string;
  readonly port: number;
  readonly sidecar: SidecarProcess;
  /** connections_active, accepted upgrades, rebalancing closes, per-pod store calls (fleet_store… not counted here). */
  read(): Promise<{ active: number; accepted: number; rebalanceCloses: number }>;
  /** SIGTERM: drain, leave the fleet, exit; then the app. */
  terminate(): Promise<void>;
  kill(): Promise<void>;
}

export async function startFleetPod(name: string, revision: string, redisUrl: string, args: readonly string[]): Promise<FleetPod> {
  const app = await startNodeChild('./echo-app.ts');
  let sidecar: SidecarProcess;
  try {
    sidecar = await startSidecarProcess(
      ['--upstream', `http://127.0.0.1:${app.port}`, '--fleet-redis', redisUrl, '--fleet-name', 'load/chat', '--pod-name', name, '--revision', revision, ...args],
      {},
      SIDECAR_CLI,
    );
  } catch (err) {
    await app.stop();
    throw err;
  }
  return {
    name,
    port: sidecar.dataPort,
    sidecar,
    async read() {
      const series = parseExposition(await scrape(sidecar.adminPort));
      return {
        active: sample(series, 'ws_sidecar_connections_active') ?? 0,
        accepted: sample(series, 'ws_sidecar_connections_total', { outcome: 'accepted' }) ?? 0,
        rebalanceCloses: sample(series, 'ws_sidecar_rebalance_closes_total') ?? 0,
      };
    },
    async terminate() {
      sidecar.kill('SIGTERM');
      await sidecar.exited;
      await app.stop('SIGTERM');
    },
    async kill() {
      sidecar.kill('SIGKILL');
      await Promise.all([sidecar.exited, app.stop()]);
    },
  };
}
