// Spawns the real `ws-sidecar webhook` (compiled dist/) and waits for its listening log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { CLI_PATH, type LogLine } from './sidecar-process.js';

export interface WebhookProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logs: LogLine[];
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startWebhookProcess(args: string[], env: Record<string, string> = {}): Promise<WebhookProcess> {
  const child = spawn(process.execPath, [CLI_PATH, 'webhook', '--listen', '127.0.0.1:0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const listening = new Promise<LogLine>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      try {
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        if (line.msg === 'listening') resolve(line);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`webhook exited (${code}) before listening; stderr: ${stderr}`)));
  });
  const line = await listening;
  return {
    child,
    port: line.port as number,
    logs,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
