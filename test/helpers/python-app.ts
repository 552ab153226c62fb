// Runs test/helpers/python-echo-app.py with the system interpreter (python3-websockets).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./python-echo-app.py', import.meta.url));
/** Debian installs python3-websockets for this interpreter only. */
const PYTHON = '/usr/bin/python3';

export interface PythonApp {
  readonly port: number;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

export async function startPythonEchoApp(): Promise<PythonApp> {
  const child = spawn(PYTHON, [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const first = once(lines, 'line') as Promise<[string]>;
  const outcome = await Promise.race([first, exited.then(() => undefined)]);
  if (outcome === undefined) throw new Error(`python echo app did not start: ${stderr}`);
  return {
    port: Number(outcome[0]),
    child,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
