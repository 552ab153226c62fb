// `npx tsx load/syscall-count.ts [CLI] [N]`: system calls per handshake of one sidecar
// build (its main.js; this checkout's by default), counted by `strace -c -f` over N
// sequential storm connections (open, one 128 B echo, close). Unlike CPU time, the count
// does not move with the machine's load: a noise-free figure for an A/B of the close path.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startNodeChild } from './node-child.js';
import { CLI_PATH, startSidecarProcess } from '../test/helpers/sidecar-process.js';
import { openClient } from './client-pool.js';
const cli = process.argv[2] ?? CLI_PATH;
const n = Number(process.argv[3] ?? 300);
const app = await startNodeChild('./echo-app.ts');
const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '0', '--max-pending-handshakes', '0'], {}, cli);
async function one(): Promise<void> {
  const ws = await openClient(sidecar.dataPort);
  await new Promise<void>((r) => { ws.once('message', () => r()); ws.send(Buffer.alloc(128)); });
  await new Promise<void>((r) => { ws.once('close', () => r()); ws.close(1000); });
}
for (let i = 0; i < 20; i++) await one();
const strace = spawn('strace', ['-c', '-f', '-p', String(sidecar.child.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
let out = '';
strace.stderr!.on('data', (c) => (out += c));
await new Promise((r) => setTimeout(r, 500));
for (let i = 0; i < n; i++) await one();
await new Promise((r) => setTimeout(r, 300));
strace.kill('SIGINT');
await once(strace, 'exit');
const lines = out.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
let total = 0;
const per: string[] = [];
for (const l of lines) {
  const f = l.trim().split(/\s+/);
  const calls = Number(f[3]);
  const name = f[f.length - 1];
  if (name === 'total') continue;
  total += calls;
  per.push(`${name} ${(calls / n).toFixed(2)}`);
}
console.log(`${cli}: ${(total / n).toFixed(1)} syscalls per handshake: ${per.join(', ')}`);
sidecar.kill();
await app.stop();
process.exit(0);
