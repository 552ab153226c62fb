// A real Prometheus server (Debian package `prometheus`) in a temporary directory, on a free
// loopback port, and a small client of its HTTP API.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Why the Prometheus tests skip, or undefined when the server and promtool are installed. */
export const PROMETHEUS_MISSING: string | undefined =
  spawnSync('prometheus', ['--version']).status === 0 && spawnSync('promtool', ['--version']).status === 0
    ? undefined
    : 'prometheus/promtool not installed (Debian package prometheus)';

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PrometheusServer {
  readonly url: string;
  readonly dir: string;
  /** Instant query; throws with Prometheus's own error text when the expression fails. */
  query(expression: string): Promise<PromSample[]>;
  /** GET /api/v1/<path>: the `data` of a successful answer. */
  api<T>(path: string): Promise<T>;
  /** Re-runs `read` until `accept` holds (Prometheus has no push API), at most `timeoutMs`. */
  until<T>(what: string, read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs?: number): Promise<T>;
  stderr(): string;
  stop(): Promise<void>;
}

/** Writes the config (and any extra files, e.g. rules, targets) and starts the server. */
export async function startPrometheus(config: unknown, files: Record<string, unknown> = {}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-sidecar-prometheus-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : stringify(content));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const check = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`promtool check config failed:\n${check.stdout}${check.stderr}`);

  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}/api/v1/${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string; warnings?: string[] };
    if (body.status !== 'success') throw new Error(`Prometheus /api/v1/${path}: ${body.error}`);
    if (body.warnings?.length) throw new Error(`Prometheus /api/v1/${path} warned: ${body.warnings.join('; ')}`);
    return body.data;
  };
  const until = async <T>(what: string, read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
      try {
        last = await read();
        if (accept(last)) return last;
      } catch (err) {
        lastError = err;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`);
  };
  const server: PrometheusServer = {
    url,
    dir,
    query: async (expression) => (await api<{ resultType: string; result: PromSample[] }>(`query?query=${encodeURIComponent(expression)}`)).result,
    api,
    until,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await until('Prometheus to be ready', async () => (await fetch(`${url}/-/ready`)).status, (status) => status === 200);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** A port nobody listens on now (Prometheus cannot report a port it picked itself). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
