// `npm run demo -- --pods 3`: the rollout you can watch. Pods (chat app + sidecar each) behind a
// round-robin front, a few hundred reconnecting clients, and a page with the buttons.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { RolloutSimulation, type SimulationOptions } from './rollout-simulation.js';
import { createRolloutServer } from './rollout-server.js';

export interface RolloutDemoOptions extends SimulationOptions {
  /** Port of the page (0: any). */
  readonly pagePort: number;
}

export interface RunningRolloutDemo {
  readonly simulation: RolloutSimulation;
  readonly pageUrl: string;
  stop(): Promise<void>;
}

export const ROLLOUT_DEMO_DEFAULTS: RolloutDemoOptions = Object.freeze({
  pods: 3,
  clients: 300,
  sendIntervalMs: 1000,
  fallbackDelayMs: 500,
  pagePort: 8090,
  frontPort: 8080,
});

export async function startRolloutDemo(options: RolloutDemoOptions, log: (line: string) => void = () => undefined): Promise<RunningRolloutDemo> {
  const simulation = new RolloutSimulation(options);
  await simulation.start();
  const server = createRolloutServer(simulation, log);
  server.listen(options.pagePort, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch (err) {
    await simulation.stop();
    throw err;
  }
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    simulation,
    pageUrl,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await simulation.stop();
    },
  };
}
