// Builds the optional native data plane (npm run build:native, also run by `prepare`).
// It never fails the install: without a compiler, Python or Node's headers the sidecar
// runs its JavaScript data plane and says so. Linux only (epoll).
// Node's headers come from the Node that runs this script (no download): the folder
// above its binary when it ships include/node (official builds, the Docker image), else
// /usr (Debian's nodejs).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const built = join(here, 'build', 'Release', 'ws_sidecar_native.node');
const strict = process.argv.includes('--strict');
const copyOnly = process.argv.includes('--copy-only');

function nodeHeaders() {
  for (const prefix of [join(dirname(process.execPath), '..'), '/usr', '/usr/local']) {
    if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  }
  return undefined;
}

function nodeGyp() {
  // npm hands its bundled node-gyp to scripts; run directly, look beside this Node's npm.
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const bundled = candidates.find((path) => path && existsSync(path));
  return bundled ? [process.execPath, bundled] : ['node-gyp'];
}

function skip(reason) {
  console.warn(`ws-sidecar: native data plane not built (${reason}); the JavaScript data plane will run.`);
  process.exit(strict ? 1 : 0);
}

/** Beside the loader in the sources (tsx, tests) and in the compiled output (dist/, the image). */
function install() {
  for (const target of [join(root, 'proxy', 'data-path', 'native'), join(root, 'dist', 'proxy', 'data-path', 'native')]) {
    if (target.startsWith(join(root, 'dist')) && !existsSync(join(root, 'dist', 'proxy'))) continue;
    mkdirSync(target, { recursive: true });
    // Copy then rename: a process that has the old addon loaded keeps its (unlinked) file;
    // writing over a mapped library in place would crash it.
    const file = join(target, 'ws_sidecar_native.node');
    copyFileSync(built, `${file}.tmp-${process.pid}`);
    renameSync(`${file}.tmp-${process.pid}`, file);
  }
}

if (copyOnly) {
  // `npm run build` recompiles the TypeScript only: an addon built before goes along.
  if (existsSync(built)) install();
  process.exit(0);
}
if (process.platform !== 'linux') skip(`${process.platform} has no epoll`);
const headers = nodeHeaders();
if (!headers) skip("Node's headers (include/node/node_api.h) were not found");
const [command, ...prefixArgs] = nodeGyp();
try {
  execFileSync(command, [...prefixArgs, 'rebuild', `--nodedir=${headers}`, '--jobs=2'], { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
} catch (error) {
  skip(`node-gyp failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
}
install();
console.log('ws-sidecar: native data plane built');
