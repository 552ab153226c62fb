// Runs the inject command in-process (the same code as the CLI) and reads fixture headers.
import { Readable, Writable } from 'node:stream';
import { injectCommand } from '../../proxy/cli/inject-command.js';

/** Given to every golden run, so tokens and images are stable. */
export const GOLDEN_ARGS = ['--token-seed', 'golden-seed', '--image', 'ws-sidecar:golden'];

export function fixtureArgs(text: string): string[] {
  const match = /^# inject-args:(.*)$/m.exec(text.split('\n')[0] ?? '');
  return match ? match[1]!.trim().split(/\s+/).filter(Boolean) : [];
}

/** Runs the inject command in-process on text; the same code the real CLI runs. */
export async function runInject(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await injectCommand(args, {
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    env: {},
    stdin: Readable.from([Buffer.from(input)]),
  });
  return { code, stdout, stderr };
}

