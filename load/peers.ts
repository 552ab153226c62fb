// The proxies compared in one run, each started in front of the same kind of
// echo app: direct (no proxy), ws-sidecar (the compiled CLI, JS data plane),
// ws-sidecar-native (the same CLI on the native data plane), nginx, haproxy,
// caddy and naive http-proxy. A peer whose binary is missing is skipped with a note.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CLI_PATH, startSidecarProcess } from '../test/helpers/sidecar-process.js';
import { startNodeChild } from './node-child.js';
import { INSPECT_FLAG, inspectedHeap, type NodeHeapProbe } from './node-inspector.js';
import { processTree } from './proc-stats.js';
import { caddyConfig, haproxyConfig, nginxConfig } from './proxy-configs.js';

export const PEER_NAMES = ['direct', 'ws-sidecar', 'ws-sidecar-native', 'nginx', 'haproxy', 'caddy', 'http-proxy', 'node-floor'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** The sidecar under test: this checkout's build, or another build's main.js via WS_SIDECAR_CLI. */
export const SIDECAR_CLI = process.env.WS_SIDECAR_CLI || CLI_PATH;

export const NGINX_PATH = '/usr/sbin/nginx';
export const HAPROXY_PATH = '/usr/sbin/haproxy';
export const CADDY_PATH = '/usr/bin/caddy';

export interface RunningPeer {
  readonly name: PeerName;
  /** Where clients connect. */
  readonly port: number;
  /** The proxy's processes now (empty for direct). */
  pids(): number[];
  /** ws-sidecar peers: the admin port (its /metrics). */
  readonly adminPort?: number;
  /** A Node peer started with `inspect`: forces its GC and reads its JS heap. */
  readonly heap?: NodeHeapProbe;
  stop(): Promise<void>;
}

export interface PeerOptions {
  readonly appPort: number;
  readonly workDir: string;
  readonly maxConnections: number;
  /** Directory for a `node --cpu-prof` profile of the sidecar (written when it exits). */
  readonly cpuProfileDir?: string;
  /**
   * Node peers (ws-sidecar, http-proxy) run with the inspector open so that memory
   * readings can force a GC first. Only for the idle-memory instance: the CPU
   * scenarios run on instances without it.
   */
  readonly inspect?: boolean;
  /** More flags for a ws-sidecar peer (e.g. --max-memory). */
  readonly sidecarArgs?: readonly string[];
}

/** Why a peer cannot run here, or undefined when it can. */
export function peerUnavailable(name: PeerName): string | undefined {
  if (name === 'ws-sidecar-native') {
    const addon = join(dirname(SIDECAR_CLI), 'data-path', 'native', 'ws_sidecar_native.node');
    return existsSync(addon) ? peerUnavailable('ws-sidecar') : `${addon} missing: run npm run build:native`;
  }
  const binaries: Partial<Record<PeerName, string>> = { nginx: NGINX_PATH, haproxy: HAPROXY_PATH, caddy: CADDY_PATH, 'ws-sidecar': SIDECAR_CLI };
  const binary = binaries[name];
  if (binary === undefined) return undefined;
  try {
    accessSync(binary, name === 'ws-sidecar' ? constants.R_OK : constants.X_OK);
    return undefined;
  } catch {
    return name === 'ws-sidecar' ? `${binary} missing: run npm run build` : `${binary} not installed`;
  }
}

export async function startPeer(name: PeerName, options: PeerOptions): Promise<RunningPeer> {
  switch (name) {
    case 'direct':
      return { name, port: options.appPort, pids: () => [], stop: async () => undefined };
    case 'ws-sidecar':
    case 'ws-sidecar-native':
      return startWsSidecar(name, options);
    case 'nginx':
    case 'haproxy':
    case 'caddy':
      return startNativePeer(name, options);
    case 'http-proxy':
    case 'node-floor': {
      const program = name === 'http-proxy' ? './http-proxy-peer.ts' : './node-floor-peer.ts';
      const child = await startNodeChild(program, [`http://127.0.0.1:${options.appPort}`], options.inspect ? [INSPECT_FLAG] : []);
      const heap = options.inspect ? await inspectedHeap(child.child.stderr!, child.stderr, child.exited) : undefined;
      return { name, port: child.port, pids: () => [child.pid], heap, stop: () => child.stop() };
    }
  }
}

async function startWsSidecar(name: 'ws-sidecar' | 'ws-sidecar-native', options: PeerOptions): Promise<RunningPeer> {
  const args = ['--upstream', `http://127.0.0.1:${options.appPort}`, '--max-connections', '0', '--max-pending-handshakes', '0', '--drain-timeout', '2', '--drain-spread', '0', '--close-timeout', '2', ...(options.sidecarArgs ?? [])];
  // The helper runs `node <cliPath> ...args`, and --cpu-prof is refused in NODE_OPTIONS:
  // so the node flags take the script's place and the script leads the args.
  const nodeFlags = [
    ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    ...(options.inspect ? [INSPECT_FLAG] : []),
  ];
  const [lead, ...rest] = [...nodeFlags, SIDECAR_CLI];
  const sidecar = await startSidecarProcess([...rest, ...args], { WS_SIDECAR_DATA_PLANE: name === 'ws-sidecar' ? 'js' : 'native' }, lead);
  const heap = options.inspect ? await inspectedHeap(sidecar.child.stderr!, sidecar.stderr, sidecar.exited) : undefined;
  return {
    name,
    port: sidecar.dataPort,
    adminPort: sidecar.adminPort,
    pids: () => [sidecar.child.pid!],
    heap,
    // SIGTERM so that a CPU profile gets written; SIGKILL if it hangs.
    stop: () => stopChild(sidecar.child, sidecar.exited),
  };
}

async function startNativePeer(name: 'nginx' | 'haproxy' | 'caddy', options: PeerOptions): Promise<RunningPeer> {
  const dir = join(options.workDir, name);
  mkdirSync(dir, { recursive: true });
  const listenPort = await freePort();
  const config = { listenPort, appPort: options.appPort, dir, maxConnections: options.maxConnections };
  let child: ChildProcess;
  if (name === 'nginx') {
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, nginxConfig(config, process.getuid?.() === 0));
    child = spawn(NGINX_PATH, ['-p', dir, '-c', file, '-e', join(dir, 'nginx-error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else if (name === 'haproxy') {
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, haproxyConfig(config));
    child = spawn(HAPROXY_PATH, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    const file = join(dir, 'Caddyfile');
    writeFileSync(file, caddyConfig(config));
    // One OS thread running Go code, as nginx has one worker and haproxy one thread;
    // its storage and config autosave go to the run's directory, not $HOME.
    const env = { ...process.env, GOMAXPROCS: '1', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
    child = spawn(CADDY_PATH, ['run', '--config', file, '--adapter', 'caddyfile'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  }
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  await waitForPort(listenPort, exited, () => `${name} exited before listening: ${stderr}`);
  return { name, port: listenPort, pids: () => processTree(child.pid!), stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A port free a moment ago (nginx and haproxy cannot report a port 0 binding). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until something accepts on the port (the native peers do not say when they listen). */
async function waitForPort(port: number, exited: Promise<unknown>, failure: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let attempt = 0; attempt < 200; attempt++) {
    if (gone) throw new Error(failure());
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await delay(25);
  }
  throw new Error(failure());
}
