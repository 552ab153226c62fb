// docs/reference.md is the project's own reference: its generated parts are current, and it
// names every metric, outcome, close code and annotation the code knows.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUN_FLAGS, envNameOf } from '../../proxy/config/flags.js';
import { ANNOTATIONS, NAMESPACE_LABEL } from '../../proxy/inject/annotations.js';
import { CONNECTION_OUTCOMES, DIRECTIONS, INITIATORS, Metrics } from '../../proxy/metrics/metrics.js';
import { CloseCode } from '../../proxy/protocol/frames.js';
import { REPO_ROOT } from '../helpers/kustomize.js';
import { REFERENCE_DOC, renderReference } from '../helpers/reference-doc.js';

const doc = readFileSync(REFERENCE_DOC, 'utf8');

describe('docs/reference.md', () => {
  it('has its generated sections up to date (run `npm run docs`)', async () => {
    expect(doc).toBe(await renderReference(doc));
  });

  it('regenerates the flag table from the flag table, whatever the file held', async () => {
    const emptied = doc.replace(/(<!-- generated:flags \(npm run docs\) -->)[\s\S]*?(<!-- \/generated:flags -->)/, '$1\n$2');
    expect(emptied).not.toContain('| `--listen` |');
    const regenerated = await renderReference(emptied);
    for (const flag of RUN_FLAGS) expect(regenerated).toContain(`| \`--${flag.name}\` | \`${envNameOf(flag.name)}\` |`);
  });

  it('documents every ws_sidecar_ metric the sidecar registers', async () => {
    const metrics = new Metrics(0, {
      activeConnections: () => 0,
      draining: () => false,
      upstreamUp: () => true,
      traffic: () => ({ messagesToUpstream: 0, bytesToUpstream: 0, messagesToClient: 0, bytesToClient: 0 }),
    });
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((name) => name.startsWith('ws_sidecar_'));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });

  it('names every label value, close code and annotation', () => {
    const words = [...CONNECTION_OUTCOMES, ...DIRECTIONS, ...INITIATORS].map((value) => `\`${value}\``);
    const codes = Object.values(CloseCode).map((code) => `\`${code}\``);
    const keys = [...Object.values(ANNOTATIONS), NAMESPACE_LABEL].map((key) => `\`${key}\``);
    expect([...words, ...codes, ...keys].filter((word) => !doc.includes(word))).toEqual([]);
  });

  it('is the project’s own: no tracked file points outside the repository', () => {
    const outside = ['..', 'shared'].join('/');
    const hits = spawnSync('git', ['grep', '-l', '-F', outside], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(hits.status, hits.stderr).toBe(1); // git grep: 1 = no match
    expect(hits.stdout).toBe('');
  });
});
