// The package version, read from package.json beside the sources (tsx) or the build (dist/).
import { existsSync, readFileSync } from 'node:fs';

function readVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    const url = new URL(relative, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'ws-sidecar' && pkg.version) return pkg.version;
  }
  return '0.0.0-unknown';
}

export const VERSION = readVersion();
