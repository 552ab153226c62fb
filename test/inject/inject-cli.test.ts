// `ws-sidecar inject` and `ws-sidecar webhook` as real processes (compiled dist/).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURES, captureText, loadCapture } from '../helpers/captures.js';
import { httpsRequest } from '../helpers/https-client.js';
import { GOLDEN_ARGS } from '../helpers/inject-run.js';
import { runCli } from '../helpers/sidecar-process.js';
import { createTestCa } from '../helpers/test-ca.js';
import { startWebhookProcess } from '../helpers/webhook-process.js';

const fixture = (name: string): string => new URL(`../fixtures/inject/${name}`, import.meta.url).pathname;
const goldenStdout = (name: string): string => readFileSync(fixture(name), 'utf8').replace(/^# (exit|stderr): .*\n/gm, '');
const goldenStderr = (name: string, source: string): string =>
  [...readFileSync(fixture(name), 'utf8').matchAll(/^# stderr: (.*)$/gm)].map((match) => match[1]!.replace('<stdin>', source) + '\n').join('');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ws-sidecar-inject-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ws-sidecar inject (real process)', () => {
  it('reads files and prints what the goldens say', async () => {
    const result = await runCli(['inject', '-f', fixture('basic-pod.yaml'), '-f', fixture('two-containers.yaml'), ...GOLDEN_ARGS]);
    expect(result.stderr).toBe(goldenStderr('basic-pod.golden.yaml', fixture('basic-pod.yaml')) + goldenStderr('two-containers.golden.yaml', fixture('two-containers.yaml')));
    expect(result.stderr).toContain(`${fixture('basic-pod.yaml')}: Pod/chat: injected: sidecar port 8080 (admin 9090) in front of app port 3000`);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(goldenStdout('basic-pod.golden.yaml') + '---\n' + goldenStdout('two-containers.golden.yaml'));
  });

  it('reads stdin with - (and when no file is given), warnings on stderr', async () => {
    const input = readFileSync(fixture('port-by-number.yaml'), 'utf8');
    for (const args of [['-f', '-'], []]) {
      const result = await runCli(['inject', ...args, ...GOLDEN_ARGS], { input });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(goldenStdout('port-by-number.golden.yaml'));
      expect(result.stderr).toMatch(/^ws-sidecar inject: <stdin>: Deployment\/numbered: injected: .*\nws-sidecar inject: warning: <stdin>: Deployment\/numbered: app port 3000 has no name: a Service must target the sidecar port 8080/);
    }
  });

  it('says on stderr, per object, what it skipped and how to opt in, and changes nothing', async () => {
    const input = readFileSync(fixture('public-manifest-not-opted-in.yaml'), 'utf8');
    const result = await runCli(['inject', '-f', '-'], { input });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(input);
    expect(result.stderr).toBe('ws-sidecar inject: <stdin>: Deployment/hello: skipped: not opted in; add the pod annotation ws-sidecar.io/inject: "true", or pass --all\n');
  });

  it('routes a Service of one file to the sidecar of pods in another', async () => {
    const [service, deployment] = readFileSync(fixture('public-manifest-not-opted-in.yaml'), 'utf8').split(/^---\n/m);
    writeFileSync(join(dir, 'service.yaml'), service!);
    writeFileSync(join(dir, 'deployment.yaml'), deployment!);
    const result = await runCli(['inject', '--all', '-f', join(dir, 'service.yaml'), '-f', join(dir, 'deployment.yaml')]);
    expect(result.code).toBe(0);
    const [outService, outDeployment] = parseAllDocuments(result.stdout).map((doc) => doc.toJS());
    expect(outService.spec.ports).toEqual([{ port: 80, targetPort: 8080 }]);
    const sidecar = outDeployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'ws-sidecar');
    expect(sidecar.ports[0].containerPort).toBe(8080);
    expect(result.stderr).toContain(`${join(dir, 'service.yaml')}: Service/hello: port 80: targetPort (unset: 80) → 8080, the sidecar of Deployment/hello`);
    expect(result.stderr.replace(/^.*warning: no --token-seed.*\n/m, '')).not.toContain('warning');

    // Turned off: the Service is printed as it came, and both warnings say why clients bypass the sidecar.
    const kept = await runCli(['inject', '--all', '--keep-target-ports', '-f', join(dir, 'service.yaml'), '-f', join(dir, 'deployment.yaml')]);
    expect(kept.code).toBe(0);
    expect(kept.stdout.startsWith(service!)).toBe(true);
    expect(kept.stderr).toContain('warning: ' + join(dir, 'service.yaml') + ': Service/hello: port 80 targets app port 80 of Deployment/hello by default (no targetPort), so clients bypass the sidecar');
    expect(kept.stderr).toContain('Deployment/hello: app port 80 has no name: a Service must target the sidecar port 8080');

    // The Service alone (its pods not in the input): passed through untouched, nothing said of it.
    const alone = await runCli(['inject', '--all', '-f', join(dir, 'service.yaml')]);
    expect(alone.stdout).toBe(service);
    expect(alone.stderr).toBe('');
  });

  it('exits 2 on unparsable YAML with a clear message and prints nothing', async () => {
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(good, readFileSync(fixture('basic-pod.yaml')));
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata: {name: [broken\n');
    const result = await runCli(['inject', '-f', good, '-f', bad]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('ws-sidecar inject: input is not valid YAML or cannot be read; nothing was written:');
    expect(result.stderr).toMatch(new RegExp(`${bad}: .* at line \\d+, column \\d+`));
    const fromStdin = await runCli(['inject', '-f', '-'], { input: 'a: b: c\n' });
    expect(fromStdin.code).toBe(2);
    expect(fromStdin.stdout).toBe('');
    expect(fromStdin.stderr).toContain('<stdin>: ');
    const missing = await runCli(['inject', '-f', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(dir, 'nope.yaml')}: cannot read: ENOENT`);
  });

  it('exits 2 listing every bad flag', async () => {
    const result = await runCli(['inject', '--max-connections', 'many', '--kubernetes-version', 'latest', '--listen', ':1', '--image', '']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown flag --listen');
    expect(result.stderr).toContain('--max-connections: "many" is not a non-negative integer');
    expect(result.stderr).toContain('--kubernetes-version: "latest" is not a version like 1.33');
    expect(result.stderr).toContain('--image: "" is not an image reference');
  });

  it('shows its help and is listed in the usage', async () => {
    const help = await runCli(['inject', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ws-sidecar inject [-f FILE|-]...');
    expect(help.stdout).toMatch(/--image <image> +image of the sidecar; default ghcr\.io\/ws-sidecar\/ws-sidecar:\d+\.\d+\.\d+/);
    const usage = await runCli(['--help']);
    expect(usage.stdout).toContain('ws-sidecar inject [-f FILE]');
    expect(usage.stdout).toContain('ws-sidecar webhook [flags]');
  });

  it('uses the package version as the default image', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
    const result = await runCli(['inject', '-f', fixture('basic-pod.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`image: ghcr.io/ws-sidecar/ws-sidecar:${version}\n`);
    // Without --token-seed the token is keyed on the manifest: the same input, the same output.
    const rerun = await runCli(['inject', '-f', fixture('basic-pod.yaml')]);
    expect(rerun.stdout).toBe(result.stdout);
  });

  it('warns on stderr, each run, that tokens without --token-seed can be computed from the input', async () => {
    const warning = /warning: no --token-seed .*anyone who can read it .*can compute them/;
    const unseeded = await runCli(['inject', '-f', fixture('basic-pod.yaml')]);
    expect(unseeded.code).toBe(0);
    expect(unseeded.stderr).toMatch(warning);
    expect((await runCli(['inject', '-f', fixture('basic-pod.yaml')])).stderr).toMatch(warning);
    const seeded = await runCli(['inject', '-f', fixture('basic-pod.yaml'), '--token-seed', 'secret']);
    expect(seeded.stderr).not.toMatch(warning);
    const fromEnv = await runCli(['inject', '-f', fixture('basic-pod.yaml')], { env: { WS_SIDECAR_TOKEN_SEED: 'secret' } });
    expect(fromEnv.stderr).not.toMatch(warning);
  });
});

describe('webhook and CLI agree', () => {
  const ca = createTestCa();
  const issued = ca.issue('webhook');

  it.each([CAPTURES.generateNameInit, CAPTURES.proxyNamedPort])('%s: the webhook patch applied to the pod equals the CLI output', async (capture) => {
    writeFileSync(join(dir, 'tls.crt'), issued.certPem);
    writeFileSync(join(dir, 'tls.key'), issued.keyPem);
    const webhook = await startWebhookProcess(['--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--token-seed', 'agree', '--max-connections', '321']);
    try {
      const review = loadCapture(capture);
      const reply = await httpsRequest(webhook.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: { 'Content-Type': 'application/json' }, body: captureText(capture) });
      expect(reply.status).toBe(200);
      const response = JSON.parse(reply.body).response;
      const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
      const patched = jsonpatch.applyPatch(structuredClone(review.request.object), patch, true).newDocument;

      const cli = await runCli(['inject', '--all', '--namespace', review.request.namespace!, '--token-seed', 'agree', '--max-connections', '321'], { input: stringify(review.request.object) });
      expect(cli.code).toBe(0);
      expect(parse(cli.stdout)).toEqual(patched);
      expect(parseAllDocuments(cli.stdout)).toHaveLength(1);
      const cliWarnings = cli.stderr.split('\n').filter((line) => line.startsWith('ws-sidecar inject: warning: '));
      expect(response.warnings ?? []).toEqual(cliWarnings.map((line) => line.replace(/^ws-sidecar inject: warning: <stdin>: Pod\/\S+: /, 'ws-sidecar: ')));
    } finally {
      expect(await webhook.stop()).toBe(0);
    }
  });

  it('refuses to start without its certificate flags', async () => {
    const result = await runCli(['webhook', '--listen', '127.0.0.1:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--tls-cert is required');
    expect(result.stderr).toContain('--tls-key is required');
  });
});
