// The usual e2e arrangement: a real ws app, the real CLI in front of it, both torn down after.
import { startApp, type TestApp } from './apps.js';
import { startSidecarProcess, type SidecarProcess } from './sidecar-process.js';

export interface SidecarContext {
  readonly app: TestApp;
  readonly sidecar: SidecarProcess;
  /** ws://127.0.0.1:<data port> */
  readonly wsUrl: string;
}

export async function withSidecar<T>(
  options: { app?: Parameters<typeof startApp>[0]; args?: string[]; env?: Record<string, string> },
  body: (context: SidecarContext) => Promise<T>,
): Promise<T> {
  const app = await startApp(options.app);
  try {
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, ...(options.args ?? [])], options.env);
    try {
      return await body({ app, sidecar, wsUrl: `ws://127.0.0.1:${sidecar.dataPort}` });
    } finally {
      sidecar.kill();
    }
  } finally {
    await app.close();
  }
}
