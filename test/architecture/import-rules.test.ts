// The layout rules: areas are floors, imports point down, no circles, one README per area.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { areaOf, cruise, FLOORS, GRAPH_DOC, renderGraph } from '../helpers/import-graph.js';
import { REPO_ROOT } from '../helpers/kustomize.js';

const PROXY = join(REPO_ROOT, 'proxy');
const areas = readdirSync(PROXY, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

describe('proxy/ import rules', () => {
  const result = cruise();

  it('holds on the repository: no upward import, no circle, nothing unresolved', () => {
    expect(result.modules.length).toBeGreaterThan(40);
    expect(result.violations).toEqual([]);
  });

  it('knows every area as a floor and every source file as part of one', () => {
    expect(areas.filter((area) => !FLOORS.includes(area))).toEqual([]);
    expect(result.modules.map((m) => m.source).filter((source) => !FLOORS.includes(areaOf(source) ?? ''))).toEqual([]);
  });

  it('gives each area a README of 10–25 lines naming what it may import and its invariant', () => {
    for (const area of areas) {
      const path = join(PROXY, area, 'README.md');
      expect(existsSync(path), path).toBe(true);
      const text = readFileSync(path, 'utf8');
      const lines = text.trimEnd().split('\n').length;
      expect(lines, `${path}: ${lines} lines`).toBeGreaterThanOrEqual(10);
      expect(lines, `${path}: ${lines} lines`).toBeLessThanOrEqual(25);
      expect(text, path).toMatch(/^## May import/m);
      expect(text, path).toMatch(/^## Invariant/m);
    }
  });

  it('has an up-to-date picture in docs/import-graph.md (npm run graph)', () => {
    expect(readFileSync(GRAPH_DOC, 'utf8')).toBe(renderGraph(result));
  });
});

describe('the rules bite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-sidecar-layout-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(REPO_ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  const write = (path: string, text: string): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it('on an upward import, a type-only one included, and on a circle inside a floor', () => {
    write('proxy/drain/drain.ts', "export const drain = 1;\n");
    write('proxy/config/config.ts', "import type { drain } from '../drain/drain.js';\nexport type Config = typeof drain;\n");
    write('proxy/cli/a.ts', "import { b } from './b.js';\nexport const a = (): number => b();\n");
    write('proxy/cli/b.ts', "import { a } from './a.js';\nexport const b = (): number => a();\n");
    const rules = cruise(dir).violations.map((v) => `${v.rule}: ${v.from} → ${v.to}`).sort();
    expect(rules).toEqual([
      'config-imports-upward: proxy/config/config.ts → proxy/drain/drain.ts',
      'no-circular: proxy/cli/a.ts → proxy/cli/b.ts',
    ]);
  });
});
