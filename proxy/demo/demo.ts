// `npm run demo`: the chat app on its own port with the sidecar in front of it.
// `npm run demo -- --pods 3`: the rollout you can watch (rollout-demo.ts).
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { startSidecar } from '../sidecar.js';
import { handleStopSignals } from '../drain/signals.js';
import { createChatApp } from './chat-app.js';
import { ROLLOUT_DEMO_DEFAULTS, startRolloutDemo } from './rollout-demo.js';

const args = parseDemoArgs(process.argv.slice(2));
if (args.pods !== undefined) await rolloutDemo(args);
else await chatDemo();

interface DemoArgs {
  pods?: number;
  clients: number;
  port: number;
  fleetRedis?: string;
}

function parseDemoArgs(argv: string[]): DemoArgs {
  const usage = 'usage: npm run demo [-- --pods N [--clients N] [--port N] [--fleet-redis redis://HOST:PORT]]';
  try {
    const { values } = parseArgs({ args: argv, options: { pods: { type: 'string' }, clients: { type: 'string' }, port: { type: 'string' }, 'fleet-redis': { type: 'string' } } });
    const count = (name: string, text: string | undefined, fallback: number, min: number): number => {
      const value = text === undefined ? fallback : Number(text);
      if (!Number.isInteger(value) || value < min) throw new Error(`--${name}: ${JSON.stringify(text)} is not an integer >= ${min}`);
      return value;
    };
    const fleetRedis = values['fleet-redis'];
    if (fleetRedis !== undefined && values.pods === undefined) throw new Error('--fleet-redis needs --pods (the fleet is the rollout demo\'s pods)');
    if (fleetRedis !== undefined && !/^rediss?:\/\/./.test(fleetRedis)) throw new Error(`--fleet-redis: ${JSON.stringify(fleetRedis)} is not a redis:// URL`);
    return {
      ...(values.pods !== undefined ? { pods: count('pods', values.pods, 3, 1) } : {}),
      ...(fleetRedis !== undefined ? { fleetRedis } : {}),
      clients: count('clients', values.clients, ROLLOUT_DEMO_DEFAULTS.clients, 1),
      port: count('port', values.port, ROLLOUT_DEMO_DEFAULTS.pagePort, 0),
    };
  } catch (err) {
    console.error(`demo: ${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
}

async function rolloutDemo(options: DemoArgs): Promise<void> {
  const fleet = options.fleetRedis ? { fleetRedis: options.fleetRedis } : {};
  const demo = await startRolloutDemo({ ...ROLLOUT_DEMO_DEFAULTS, ...fleet, pods: options.pods!, clients: options.clients, pagePort: options.port }, (line) => process.stderr.write(line + '\n'));
  process.stderr.write(`
ws-sidecar rollout demo: ${options.pods} pods (chat app + sidecar each) behind a round-robin front
on ws://127.0.0.1:${demo.simulation.frontPort}/, ${options.clients} clients sending numbered messages.${options.fleetRedis ? `\nFleet mode: scale out and watch the rebalancer move clients to the new pod.` : ''}
  open ${demo.pageUrl}   <- roll the pods, kill one, scale out, bypass the sidecars
Ctrl-C stops.

`);
  handleStopSignals({
    onFirst: async () => {
      await demo.stop();
      process.exit(0);
    },
    onSecond: () => process.exit(1),
  });
}

async function chatDemo(): Promise<void> {
  const env = process.env;
  const appPort = Number(env.DEMO_APP_PORT ?? 3000);
  const app = createChatApp();
  await new Promise<void>((resolve, reject) => {
    app.once('error', reject);
    app.listen(appPort, '127.0.0.1', resolve);
  });
  const appAddress = app.address() as AddressInfo;

  const result = loadConfig(
    {
      listen: env.WS_SIDECAR_LISTEN ?? '127.0.0.1:8080',
      'admin-listen': env.WS_SIDECAR_ADMIN_LISTEN ?? '127.0.0.1:9090',
      upstream: `http://127.0.0.1:${appAddress.port}`,
      'drain-spread': env.WS_SIDECAR_DRAIN_SPREAD ?? '3',
    },
    env,
  );
  if (!result.ok) {
    console.error(`demo: invalid configuration:\n  - ${result.problems.join('\n  - ')}`);
    process.exit(2);
  }
  const logger = createLogger(result.config.logLevel);
  const sidecar = await startSidecar(result.config, logger);
  const data = `http://127.0.0.1:${sidecar.dataAddress.port}`;
  const admin = `http://127.0.0.1:${sidecar.adminAddress.port}`;
  process.stderr.write(`
ws-sidecar demo
  chat app (direct)        http://127.0.0.1:${appAddress.port}/
  chat through the sidecar ${data}/        <- open this in a browser (two tabs to chat)
  admin: status page       ${admin}/
         metrics           ${admin}/metrics
         readiness         ${admin}/readyz
  drain now:               curl -X POST '${admin}/drain?wait=1'
Ctrl-C drains (close 1012 with a delay_ms hint to every client), then exits.

`);
  handleStopSignals({
    onFirst: async () => {
      await sidecar.drain.start('demo stop');
      await sidecar.close();
      app.close();
      process.exit(0);
    },
    onSecond: () => process.exit(1),
  });
}
