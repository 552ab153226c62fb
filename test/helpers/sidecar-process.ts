// Spawns the real CLI (compiled dist/) and reads its JSON logs for the ports it bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const CLI_PATH = fileURLToPath(new URL('../../dist/proxy/main.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly dataPort: number;
  readonly adminPort: number;
  readonly logs: LogLine[];
  readonly stderr: () => string;
  /** Resolves with the first log line matching, waiting for it if needed. */
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * The data plane the suite runs on (vitest.config.ts: the `js` project, and the `native`
 * one for test/e2e/): passed to every sidecar this helper starts, unless the test names one.
 */
export const TEST_DATA_PLANE = process.env.WS_SIDECAR_TEST_DATA_PLANE ?? 'js';

function testPlaneEnv(): Record<string, string> {
  return { WS_SIDECAR_DATA_PLANE: TEST_DATA_PLANE };
}

/** Runs `node dist/proxy/main.js ...args` (or another build's main.js); the caller passes --upstream etc. Ports default to 0. */
export async function startSidecarProcess(
  args: string[],
  env: Record<string, string> = {},
  cliPath = CLI_PATH,
  /** `wrapper`: a command that execs node in its own place (valgrind, strace), so the pid stays the sidecar's. */
  options: { openFilesLimit?: number; wrapper?: readonly string[] } = {},
): Promise<SidecarProcess> {
  const fullArgs = [cliPath, ...args];
  if (!args.some((arg) => arg.startsWith('--listen'))) fullArgs.push('--listen', '127.0.0.1:0');
  if (!args.some((arg) => arg.startsWith('--admin-listen'))) fullArgs.push('--admin-listen', '127.0.0.1:0');
  // prlimit execs node in its own place: the pid is the sidecar's.
  const wrapper = [...(options.openFilesLimit === undefined ? [] : ['/usr/bin/prlimit', `--nofile=${options.openFilesLimit}`, '--']), ...(options.wrapper ?? [])];
  const [command, commandArgs] = wrapper.length === 0 ? [process.execPath, fullArgs] : [wrapper[0]!, [...wrapper.slice(1), process.execPath, ...fullArgs]];
  const child = spawn(command, commandArgs, { env: { ...process.env, ...testPlaneEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters: Array<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    logs.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitForLog = (predicate: (line: LogLine) => boolean): Promise<LogLine> => {
    const found = logs.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      waiters.push({ predicate, resolve });
      void exited.then((code) => reject(new Error(`sidecar exited (${code}) before the log line came; stderr: ${stderr}`)));
    });
  };
  const [data, admin] = await Promise.all([
    waitForLog((line) => line.msg === 'listening' && line.listener === 'data'),
    waitForLog((line) => line.msg === 'listening' && line.listener === 'admin'),
  ]);
  return {
    child,
    dataPort: data.port as number,
    adminPort: admin.port as number,
    logs,
    stderr: () => stderr,
    waitForLog,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null) child.kill(signal);
    },
  };
}

/** Runs the CLI to completion (for config errors, --help, drain, inject). */
export async function runCli(args: string[], options: { env?: Record<string, string>; input?: string } = {}, cliPath = CLI_PATH): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}
