// The chat example's deployment.yaml is exactly what the real `ws-sidecar inject` CLI makes of
// app.yaml, and the kustomization applies only the injected file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TOKEN_SEED_ENV } from '../../proxy/inject/injector-options.js';
import { REPO_ROOT } from '../helpers/kustomize.js';
import { NO_SEED_WARNING } from '../../proxy/cli/inject-command.js';
import { runCli } from '../helpers/sidecar-process.js';

const EXAMPLE = 'deploy/examples/chat';
const SOURCE = `${EXAMPLE}/app.yaml`;
const INJECTED = `${EXAMPLE}/deployment.yaml`;
const REGENERATE = `npm run build && node dist/proxy/main.js inject -f ${SOURCE} > ${INJECTED}`;
// The committed tokens are keyed on the manifest itself: a seed in the caller's env would change them.
const NO_SEED = { [TOKEN_SEED_ENV]: '' };

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

describe('chat example: deployment.yaml is the injector output of app.yaml', () => {
  it('equals what `ws-sidecar inject -f app.yaml` prints today', async () => {
    const result = await runCli(['inject', '-f', join(REPO_ROOT, SOURCE)], { env: NO_SEED });
    // No routing warning: the named port is taken over, so the example's Service needs no change.
    // The one warning is the seed's: this example's tokens are public by design.
    expect(result.stderr).toBe(
      `ws-sidecar inject: ${join(REPO_ROOT, SOURCE)}: Deployment/chat: injected: sidecar port 8080 (admin 9090) in front of app port 3000; port name http moved to the sidecar\n` +
        `ws-sidecar inject: warning: ${NO_SEED_WARNING}\n`,
    );
    expect(result.code).toBe(0);
    expect(read(INJECTED), `${INJECTED} is stale or was edited by hand; edit ${SOURCE} and regenerate from the repository root:\n  ${REGENERATE}\n`).toBe(result.stdout);
  });

  it('is left alone when injected again (the status annotation marks it)', async () => {
    const injected = read(INJECTED);
    const result = await runCli(['inject', '-f', '-'], { env: NO_SEED, input: injected });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(injected);
  });

  it('applies only the injected Deployment', () => {
    const kustomization = parse(read(`${EXAMPLE}/kustomization.yaml`)) as { resources: string[] };
    expect(kustomization.resources).toContain('deployment.yaml');
    expect(kustomization.resources).not.toContain('app.yaml');
    // The source is the plain app: no sidecar yet, opted in by annotation.
    const source = parse(read(SOURCE)) as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ name: string }> } } } };
    expect(source.spec.template.spec.containers.map((container) => container.name)).toEqual(['chat']);
    expect(source.spec.template.metadata.annotations['ws-sidecar.io/inject']).toBe('true');
  });
});
