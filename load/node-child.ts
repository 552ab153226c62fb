// Spawns one of load/'s TypeScript programs as its own process (so its CPU and
// memory are its own) and waits for the JSON line announcing its port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface NodeChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly exited: Promise<number | null>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGKILL unless a signal is given; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `load/<file>` with tsx (after `nodeArgs`, under `wrapper` if given); the program prints `{"port": n}` once it listens. */
export async function startNodeChild(file: string, args: readonly string[] = [], nodeArgs: readonly string[] = [], wrapper: readonly string[] = []): Promise<NodeChild> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  // A wrapper (valgrind) execs node in its own place: the pid stays the program's.
  const command = [...wrapper, process.execPath, ...nodeArgs, '--import', 'tsx', path, ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: number };
        if (typeof parsed.port === 'number') resolve(parsed.port);
      } catch {
        // not the announcement
      }
    });
    void exited.then((code) => reject(new Error(`${file} exited (${code}) before listening: ${stderr}`)));
  });
  return {
    child,
    pid: child.pid!,
    port,
    exited,
    stderr: () => stderr,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
