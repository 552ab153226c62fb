// A real redis-server for the fleet tests: one per test file, on a free loopback port,
// persistence off, killed at the end. It can be stopped and started again on the same
// port (a restart that comes back empty) and paused (SIGSTOP: a store that is slow).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_PACKAGE = 'redis-server';

/** For describe.skipIf: the tests say which Debian package would run them. */
export const redisMissing = !existsSync(REDIS_SERVER);
export const redisSkipNote = redisMissing ? ` (SKIPPED: ${REDIS_SERVER} not installed; apt-get install ${REDIS_PACKAGE})` : '';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: no goodbye to its clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server still holds its sockets but answers nothing. */
  pause(): void;
  resume(): void;
  /** Kills it for good; safe to call twice. */
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      let child = await spawnRedis(port);
      const kill = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited;
      };
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        kill,
        async restart() {
          await kill();
          child = await spawnRedis(port);
        },
        pause: () => void child.kill('SIGSTOP'),
        resume: () => void child.kill('SIGCONT'),
        stop: kill,
      };
    } catch (err) {
      // Another process took the port between our probe and the bind: try another.
      if (attempt >= 4) throw err;
    }
  }
}

function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice', '--dir', '/tmp'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onExit = (code: number | null): void => reject(new Error(`redis-server exited (${code}) before it was ready: ${output}`));
    child.once('exit', onExit);
    child.once('error', reject);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += line + '\n';
      if (/Ready to accept connections/.test(line)) {
        child.off('exit', onExit);
        resolve(child);
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
