// One "pod" of the rollout: the echo app, and in front of it the real sidecar
// CLI (or nothing, for the baseline). Terminating it mimics Kubernetes with the
// injected preStop hook: the sidecar drains first, then the app gets SIGTERM.
import { startSidecarProcess, type SidecarProcess } from '../../test/helpers/sidecar-process.js';
import { startNodeChild, type NodeChild } from '../node-child.js';
import { SIDECAR_CLI } from '../peers.js';

export interface Pod {
  /** Where the balancer sends connections: the sidecar, or the app itself. */
  readonly port: number;
  /** SIGTERM and wait until every process of the pod is gone. */
  terminate(): Promise<void>;
  /** SIGKILL whatever is left (end of run, errors). */
  kill(): Promise<void>;
}

export async function startPod(sidecarArgs: readonly string[] | undefined): Promise<Pod> {
  const app = await startNodeChild('./echo-app.ts');
  if (sidecarArgs === undefined) return bareApp(app);
  let sidecar: SidecarProcess;
  try {
    sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, ...sidecarArgs], {}, SIDECAR_CLI);
  } catch (err) {
    await app.stop();
    throw err;
  }
  return {
    port: sidecar.dataPort,
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

function bareApp(app: NodeChild): Pod {
  return {
    port: app.port,
    terminate: () => app.stop('SIGTERM'),
    kill: () => app.stop(),
  };
}
