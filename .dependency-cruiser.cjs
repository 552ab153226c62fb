// Import rules for proxy/: areas are floors, and a floor imports only the floors below it.
// test/architecture.test.ts runs this; docs/import-graph.md is drawn from it (npm run graph).
const FLOORS = [
  ['config', '^proxy/config/'],
  ['protocol', '^proxy/protocol/'],
  ['metrics', '^proxy/metrics/'],
  ['memory', '^proxy/memory/'],
  ['admission', '^proxy/admission/'],
  ['data-path', '^proxy/data-path/'],
  ['drain', '^proxy/drain/'],
  ['fleet', '^proxy/fleet/'],
  ['admin', '^proxy/admin/'],
  ['inject', '^proxy/inject/'],
  ['sidecar', '^proxy/sidecar\\.ts$'],
  ['cli', '^proxy/cli/'],
  ['demo', '^proxy/demo/'],
  ['main', '^proxy/main\\.ts$'],
];

const upward = FLOORS.slice(0, -1).map(([name, path], i) => ({
  name: `${name}-imports-upward`,
  comment: `${name} may import only ${FLOORS.slice(0, i).map(([n]) => n).join(', ') || 'node and npm packages'}`,
  severity: 'error',
  from: { path },
  to: { path: FLOORS.slice(i + 1).map(([, p]) => p) },
}));

module.exports = {
  forbidden: [
    ...upward,
    { name: 'no-circular', severity: 'error', from: { path: '^proxy/' }, to: { circular: true } },
    { name: 'proxy-imports-tests', severity: 'error', from: { path: '^proxy/' }, to: { path: '^(test|load)/' } },
    { name: 'not-to-unresolvable', severity: 'error', from: { path: '^proxy/' }, to: { couldNotResolve: true } },
  ],
  options: {
    // TypeScript 7 has no JS compiler API; swc parses the sources, type-only imports included.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};

// Read by the architecture test and the graph script; not part of dependency-cruiser's schema.
Object.defineProperty(module.exports, 'floors', { value: FLOORS.map(([name]) => name), enumerable: false });
