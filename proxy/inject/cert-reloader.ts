// Serves the newest certificate: watches the directories of the cert and key (cert-manager and
// kubelet swap a `..data` symlink, so the files themselves are replaced, not written) and swaps
// the TLS context of new connections. Connections already open keep theirs.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';

export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface CertReloaderOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly current: KeyPair;
  readonly apply: (pair: KeyPair) => void;
  readonly onReloaded: () => void;
  readonly onRejected: (err: Error) => void;
}

/** Coalesces the burst of events one rotation makes. */
const SETTLE_MS = 50;

export async function readKeyPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  createSecureContext({ cert, key }); // throws when they do not belong together
  return { cert, key };
}

export function watchKeyPair(options: CertReloaderOptions): { close(): void } {
  let current = options.current;
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reload = async (): Promise<void> => {
    let pair: KeyPair;
    try {
      pair = await readKeyPair(options.certFile, options.keyFile);
    } catch (err) {
      // Mid-rotation (new cert, old key) or a missing file: keep serving the old pair.
      options.onRejected(err as Error);
      return;
    }
    if (pair.cert.equals(current.cert) && pair.key.equals(current.key)) return;
    options.apply(pair);
    current = pair;
    options.onReloaded();
  };
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(reload);
    }, SETTLE_MS);
  };
  const watchers: FSWatcher[] = [...new Set([dirname(options.certFile), dirname(options.keyFile)])].map((dir) => watch(dir, schedule));
  for (const watcher of watchers) watcher.on('error', (err) => options.onRejected(err));
  return {
    close: () => {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
