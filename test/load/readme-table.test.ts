// The README's performance table is made from recorded bench runs (docs/bench/), never
// typed: made again from the files it names, it must come out the same.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentTable, readmeTable, type BenchFile } from '../../load/readme-table.js';

const root = new URL('../../', import.meta.url);

describe('README performance table', () => {
  it('is what load/readme-table.ts makes from the bench runs it names', () => {
    const { table, sources } = currentTable(readFileSync(new URL('README.md', root), 'utf8'));
    expect(sources.length).toBeGreaterThan(0);
    const runs = sources.map((source) => JSON.parse(readFileSync(new URL(source, root), 'utf8')) as BenchFile);
    // Every run says how loaded the machine was: the figures are read with it.
    for (const run of runs) expect(run.loadAverage, run.when).toBeDefined();
    expect(readmeTable(runs, sources)).toBe(table);
  });
});
