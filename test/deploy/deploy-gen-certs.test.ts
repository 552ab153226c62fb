// gen-certs.sh --dry-run: a CA and a serving certificate that a real TLS client accepts for the
// webhook Service's DNS name, a valid TLS Secret, and the CA in every webhook's caBundle.
import { execFile, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { only } from '../helpers/kube-objects.js';
import { DEPLOY_DIR, KUBECTL_MISSING, validateObject, type KubeObject } from '../helpers/kustomize.js';

const SCRIPT = join(DEPLOY_DIR, 'webhook/gen-certs.sh');
const OPENSSL_MISSING = spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is not installed';
const missing = KUBECTL_MISSING ?? OPENSSL_MISSING;
const SERVICE_HOST = 'ws-sidecar-webhook.ws-sidecar-system.svc';

/** Completes a TLS handshake against `server` trusting only `ca`, or rejects with the reason. */
async function handshake(server: Server, ca: string, servername: string): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername });
  try {
    await once(socket, 'secureConnect');
  } finally {
    socket.destroy();
  }
}

describe.skipIf(missing !== undefined)(missing ? `gen-certs.sh (skipped: ${missing})` : 'gen-certs.sh', () => {
  const out = mkdtempSync(join(tmpdir(), 'ws-sidecar-certs-'));
  let objects: KubeObject[];
  let server: Server;
  beforeAll(async () => {
    const { stdout } = await promisify(execFile)(SCRIPT, ['--dry-run', '--out', out]);
    objects = parseAllDocuments(stdout).map((doc) => doc.toJS() as KubeObject);
    server = createServer({ cert: readFileSync(join(out, 'tls.crt')), key: readFileSync(join(out, 'tls.key')) }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(async () => {
    server?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('writes a valid TLS Secret holding the files it generated', async () => {
    const secret = only<{ type: string; data: Record<string, string> }>(objects, 'Secret', 'ws-sidecar-webhook-tls');
    await validateObject(secret);
    expect(secret.metadata.namespace).toBe('ws-sidecar-system');
    expect(secret.type).toBe('kubernetes.io/tls');
    for (const file of ['tls.crt', 'tls.key', 'ca.crt']) {
      expect(Buffer.from(secret.data[file]!, 'base64').toString()).toBe(readFileSync(join(out, file), 'utf8'));
    }
  });

  it('puts the CA into every webhook, and a TLS client trusting it accepts the service name', async () => {
    const config = only<{ webhooks: Array<{ clientConfig: { caBundle: string } }> }>(objects, 'MutatingWebhookConfiguration');
    await validateObject(config);
    expect(config.webhooks.length).toBeGreaterThan(1);
    const bundles = new Set(config.webhooks.map((webhook) => Buffer.from(webhook.clientConfig.caBundle, 'base64').toString()));
    expect([...bundles]).toEqual([readFileSync(join(out, 'ca.crt'), 'utf8')]);
    const ca = [...bundles][0]!;
    await handshake(server, ca, SERVICE_HOST);
    await handshake(server, ca, `${SERVICE_HOST}.cluster.local`);
  });

  it('the certificate is refused for other names and by clients without the CA', async () => {
    const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
    await expect(handshake(server, ca, 'ws-sidecar-webhook.default.svc')).rejects.toThrow(/altnames|Hostname/i);
    const otherCa = mkdtempSync(join(tmpdir(), 'ws-sidecar-certs-other-'));
    try {
      await promisify(execFile)(SCRIPT, ['--dry-run', '--out', otherCa]);
      await expect(handshake(server, readFileSync(join(otherCa, 'ca.crt'), 'utf8'), SERVICE_HOST)).rejects.toThrow(/certificate/i);
    } finally {
      rmSync(otherCa, { recursive: true, force: true });
    }
  });

  it('rejects bad arguments with a clear message and exit code 2', () => {
    for (const [args, message] of [
      [['--days', 'soon'], "--days must be a whole number, got 'soon'"],
      [['--bogus'], 'unknown argument --bogus'],
    ] as const) {
      const result = spawnSync(SCRIPT, [...args, '--dry-run'], { encoding: 'utf8' });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    }
  });
});
