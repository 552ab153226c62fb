// `npm run demo`: the chat app on its own port with the sidecar in front of it.
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../config/logger.js';
import { startSidecar } from '../sidecar.js';
import { handleStopSignals } from '../drain/signals.js';
import { createChatApp } from './chat-app.js';

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
