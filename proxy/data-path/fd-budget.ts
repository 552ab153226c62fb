// The data listener's share of this process's file descriptors. At the limit,
// libuv accepts and closes connections silently (its EMFILE trick): nothing to
// log, nothing to count, and the upstream connects of admitted clients fail too.
// Capping the listener's connections below the limit instead makes Node drop
// the excess where we see it ('drop'), and leaves fds for the app side.
import { readdirSync, readFileSync } from 'node:fs';

/** fds kept, beyond those open at start, for the admin port, probes, scrapes and the runtime. */
const RESERVED_FDS = 32;

/** The soft RLIMIT_NOFILE of this process, or undefined where /proc does not tell. */
export function openFilesLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'latin1');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    return match && match[1] !== 'unlimited' ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** fds this process has open now (the runtime's own, stdio, the listeners). */
export function openFileCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Client connections the data listener may hold: each may need a second fd to the app. */
export function listenerConnectionBudget(limit = openFilesLimit(), openNow = openFileCount() ?? 0): number | undefined {
  if (limit === undefined) return undefined;
  return Math.max(1, Math.floor((limit - openNow - RESERVED_FDS) / 2));
}
