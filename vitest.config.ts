import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The end-to-end suite runs twice: on the JS data plane and on the native one. The
// native project is left out only where the addon could not be built (no compiler),
// never in CI, where its absence must fail.
const nativeBuilt = existsSync('dist/proxy/data-path/native/ws_sidecar_native.node');
const runNative = nativeBuilt || process.env.CI === 'true' || process.env.WS_SIDECAR_REQUIRE_NATIVE === '1';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests spawn real processes and open real sockets: a little parallelism only (2 cores).
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: 'js', include: ['test/**/*.test.ts'], env: { WS_SIDECAR_TEST_DATA_PLANE: 'js' } } },
      ...(runNative ? [{ extends: true, test: { name: 'native', include: ['test/e2e/**/*.test.ts'], env: { WS_SIDECAR_TEST_DATA_PLANE: 'native' } } }] : []),
    ],
  },
});
