// Golden tests: fixture manifests in, expected injected manifests out (test/fixtures/inject).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { fixtureArgs, GOLDEN_ARGS, runInject } from '../helpers/inject-run.js';
import { validateKubeObject } from '../helpers/kube-schema.js';

const DIR = new URL('../fixtures/inject/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const files = readdirSync(DIR);
const inputs = files.filter((file) => file.endsWith('.yaml') && !file.endsWith('.golden.yaml')).sort();

function goldenText(result: { code: number; stdout: string; stderr: string }): string {
  const stderr = result.stderr.split('\n').filter(Boolean).map((line) => `# stderr: ${line}\n`).join('');
  return `# exit: ${result.code}\n${stderr}${result.stdout}`;
}

describe('inject goldens', () => {
  it('has no golden without an input (orphans fail)', () => {
    const orphans = files.filter((file) => file.endsWith('.golden.yaml') && !inputs.includes(file.replace(/\.golden\.yaml$/, '.yaml')));
    expect(orphans).toEqual([]);
  });

  it.each(inputs)('%s', async (file) => {
    const input = readFileSync(new URL(file, DIR), 'utf8');
    const args = fixtureArgs(input);
    const result = await runInject([...args, ...GOLDEN_ARGS], input);
    const actual = goldenText(result);
    const goldenUrl = new URL(file.replace(/\.yaml$/, '.golden.yaml'), DIR);
    if (UPDATE || !existsSync(goldenUrl)) {
      if (!UPDATE) throw new Error(`no golden for ${file}; run with UPDATE_GOLDEN=1 and review it`);
      writeFileSync(goldenUrl, actual);
    }
    expect(actual).toBe(readFileSync(goldenUrl, 'utf8'));
    expect(result.code).toBe(0);

    // Injecting twice is injecting once.
    const again = await runInject([...args, ...GOLDEN_ARGS], result.stdout);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(result.stdout);

    // Every object out is a valid Kubernetes object.
    for (const doc of parseAllDocuments(result.stdout) as any[]) {
      const object = doc.toJS();
      if (object !== null && object !== undefined) validateKubeObject(object);
    }
  });
});
