// CPU time and resident memory of a process tree, read from /proc (Linux only).
// A peer is measured as a set of pids: nginx's master and worker, one Node process...
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for utime/stime (`getconf CLK_TCK`; 100 on Linux x86/arm). */
const CLOCK_TICKS_PER_SECOND = 100;

/** A /proc file's text, or undefined once the process is gone. */
function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime + stime of one process in microseconds (0 once it is gone). */
export function cpuMicros(pid: number): number {
  const text = readProc(`/proc/${pid}/stat`);
  if (text === undefined) return 0;
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size of one process in bytes (VmRSS; 0 once it is gone). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readProc(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) * 1024 : 0;
}

/** The pid and all its descendants (nginx master → worker). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const children = readProc(`/proc/${all[i]}/task/${all[i]}/children`) ?? '';
    for (const child of children.trim().split(/\s+/)) if (child) all.push(Number(child));
  }
  return all;
}

/** A point-in-time reading over a set of pids, to subtract from a later one. */
export interface ProcessSample {
  readonly cpuMicros: number;
  readonly rssBytes: number;
}

export function sampleProcesses(pids: readonly number[]): ProcessSample {
  let cpu = 0;
  let rss = 0;
  for (const pid of pids) {
    cpu += cpuMicros(pid);
    rss += rssBytes(pid);
  }
  return { cpuMicros: cpu, rssBytes: rss };
}
