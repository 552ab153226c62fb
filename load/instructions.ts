// `npx tsx load/instructions.ts [--handshakes N] [--warmup N] [--keep DIR] CLI [CLI ...]`: user-space
// instructions per handshake of each sidecar build (its main.js), counted by valgrind's
// callgrind over N sequential storm handshakes (open, one 128 B echo, close) after a
// warm-up that lets V8 tier its code up. Unlike CPU time this count does not move with the
// machine's load (two runs of one build: 7% apart on the event loop, 12% on the helpers),
// so a technique worth ~10% shows in one run where a CPU A/B needs many rounds; the kernel's side is not in it (load/syscall-count.ts counts the
// calls). `node-floor` as a CLI counts load/node-floor-peer.ts, the least a Node tunnel does.
// `--keep DIR` keeps each build's callgrind dumps there (build1.01 for its main thread, …)
// for callgrind_annotate. The event loop's count is the one to compare: the helper threads'
// is mostly TurboFan compiling, which goes on long after a warm-up and moves with it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openClient } from './client-pool.js';
import { startNodeChild, type NodeChild } from './node-child.js';
import { startSidecarProcess } from '../test/helpers/sidecar-process.js';

const { values, positionals } = parseArgs({
  options: { handshakes: { type: 'string', default: '300' }, warmup: { type: 'string', default: '400' }, keep: { type: 'string' } },
  allowPositionals: true,
});
const handshakes = Number(values.handshakes);
const warmup = Number(values.warmup);
if (positionals.length === 0 || !(handshakes > 0) || !(warmup >= 0)) {
  throw new Error('usage: npx tsx load/instructions.ts [--handshakes N] [--warmup N] [--keep DIR] CLI|node-floor [CLI ...]');
}

async function oneHandshake(port: number): Promise<void> {
  const ws = await openClient(port);
  await new Promise<void>((resolve) => {
    ws.once('message', () => resolve());
    ws.send(Buffer.alloc(128));
  });
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  });
}

async function callgrindControl(...args: string[]): Promise<void> {
  const child = spawn('callgrind_control', args, { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`callgrind_control ${args.join(' ')} exited with ${code}`);
}

/** Instructions per handshake: the event loop's, and V8's helper threads' (compiler, GC). */
interface Count {
  readonly mainThread: number;
  readonly helperThreads: number;
}

/** Instructions per handshake of one build. */
async function count(cli: string, app: NodeChild, keepAs: string | undefined): Promise<Count> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-sidecar-callgrind-'));
  // --smc-check: V8 writes and rewrites machine code on its heap, which valgrind must notice.
  // --separate-threads: the event loop's count apart from V8's compiler and GC helper threads.
  const wrapper = ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'out.%p')}`];
  const upstream = `http://127.0.0.1:${app.port}`;
  let port: number;
  let pid: number;
  let stop: () => Promise<unknown>;
  if (cli === 'node-floor') {
    const floor = await startNodeChild('./node-floor-peer.ts', [upstream], [], wrapper);
    [port, pid, stop] = [floor.port, floor.pid, () => floor.stop('SIGINT')];
  } else {
    const sidecar = await startSidecarProcess(['--upstream', upstream, '--max-connections', '0', '--max-pending-handshakes', '0', '--handshake-timeout', '60'], {}, cli, { wrapper });
    [port, pid, stop] = [sidecar.dataPort, sidecar.child.pid!, async () => (sidecar.kill('SIGINT'), await sidecar.exited)];
  }
  try {
    for (let i = 0; i < warmup; i++) await oneHandshake(port);
    await callgrindControl('--zero', String(pid));
    for (let i = 0; i < handshakes; i++) await oneHandshake(port);
    await callgrindControl('--dump', String(pid));
    // The first dump on request is out.PID.1-TT, one file per thread (01: the main thread).
    const dumps = readdirSync(dir).filter((name) => /\.1-\d+$/.test(name)).sort();
    if (dumps.length === 0) throw new Error(`callgrind wrote no dump in ${dir}`);
    const counts = dumps.map((name) => {
      const totals = /^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(join(dir, name), 'utf8'));
      if (!totals) throw new Error(`no totals in callgrind's ${name}`);
      if (keepAs !== undefined) copyFileSync(join(dir, name), `${keepAs}.${name.slice(name.lastIndexOf('-') + 1)}`);
      return Number(totals[1]);
    });
    const [main = 0, ...helpers] = counts;
    return { mainThread: main / handshakes, helperThreads: helpers.reduce((sum, n) => sum + n, 0) / handshakes };
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const app = await startNodeChild('./echo-app.ts');
try {
  const results: Array<[string, Count]> = [];
  if (values.keep !== undefined) mkdirSync(values.keep, { recursive: true });
  const k = (n: number): string => `${(n / 1000).toFixed(0)} k`;
  for (const [index, cli] of positionals.entries()) {
    const counted = await count(cli, app, values.keep === undefined ? undefined : join(values.keep, `build${index + 1}`));
    results.push([cli, counted]);
    process.stdout.write(
      `${cli}: ${k(counted.mainThread)} instructions per handshake on the event loop, ${k(counted.helperThreads)} on V8's helper threads (user space, ${handshakes} handshakes after ${warmup})\n`,
    );
  }
  const [first] = results;
  for (const [cli, { mainThread, helperThreads }] of results.slice(1)) {
    process.stdout.write(`${cli} ÷ ${first![0]}: event loop ${(mainThread / first![1].mainThread).toFixed(3)}, helper threads ${(helperThreads / first![1].helperThreads).toFixed(3)}\n`);
  }
} finally {
  await app.stop();
}
