// The admission webhook over real HTTPS with a CA made in the test.
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../proxy/config/logger.js';
import { startWebhook, type Webhook } from '../../proxy/inject/webhook.js';
import { CAPTURES, captureText, loadCapture } from '../helpers/captures.js';
import { httpsRequest } from '../helpers/https-client.js';
import { createTestCa, type Issued, type TestCa } from '../helpers/test-ca.js';

let ca: TestCa;
let dir: string;
let first: Issued;
let webhook: Webhook | undefined;

beforeAll(() => {
  ca = createTestCa();
  first = ca.issue('webhook-1');
});

afterEach(async () => {
  await webhook?.close();
  webhook = undefined;
  rmSync(dir, { recursive: true, force: true });
});


async function start(options: { tokenSeed?: string; maxBodyBytes?: number } = {}): Promise<Webhook> {
  dir = mkdtempSync(join(tmpdir(), 'ws-sidecar-webhook-'));
  writeFileSync(join(dir, 'tls.crt'), first.certPem);
  writeFileSync(join(dir, 'tls.key'), first.keyPem);
  webhook = await startWebhook(
    {
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      inject: { image: 'ws-sidecar:test', ...(options.tokenSeed ? { tokenSeed: options.tokenSeed } : {}) },
      ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
      logger: createLogger('silent'),
    },
    '127.0.0.1',
    0,
  );
  return webhook;
}

const json = { 'Content-Type': 'application/json' };

function decodePatch(body: string): { review: any; patch: jsonpatch.Operation[] } {
  const review = JSON.parse(body);
  const patch = review.response.patch ? (JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as jsonpatch.Operation[]) : [];
  return { review, patch };
}

describe('webhook', () => {
  it('answers a captured ReplicaSet pod with a JSONPatch that injects the sidecar', async () => {
    const server = await start({ tokenSeed: 'seed' });
    const capture = loadCapture(CAPTURES.generateNameInit);
    const reply = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body: captureText(CAPTURES.generateNameInit) });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    const { review, patch } = decodePatch(reply.body);
    expect(review.apiVersion).toBe('admission.k8s.io/v1');
    expect(review.kind).toBe('AdmissionReview');
    expect(review.response.uid).toBe(capture.request.uid);
    expect(review.response.allowed).toBe(true);
    expect(review.response.patchType).toBe('JSONPatch');
    // Annotation keys contain '/': escaped as ~1 in the pointer.
    expect(patch).toContainEqual({ op: 'add', path: '/metadata/annotations/ws-sidecar.io~1status', value: 'injected' });
    const patched = jsonpatch.applyPatch(structuredClone(capture.request.object), patch, true).newDocument as any;
    const names = patched.spec.containers.map((c: { name: string }) => c.name);
    expect(names).toEqual(['keymaker-original', 'ws-sidecar']);
    // Existing init containers stay first and untouched.
    expect(patched.spec.initContainers).toEqual(capture.request.object.spec.initContainers);
    // The takeover: the app keeps 7020 unnamed, the sidecar serves the name "http".
    expect(patched.spec.containers[0].ports).toEqual([{ containerPort: 7020, protocol: 'TCP' }]);
    expect(patched.spec.containers[1].ports[0]).toEqual({ name: 'http', containerPort: 8080, protocol: 'TCP' });
    expect(patched.spec.containers[1].args).toContain('--upstream=http://127.0.0.1:7020');
  });

  it('creates missing parents whole (no annotations, no namespace in the object)', async () => {
    const server = await start({ tokenSeed: 'seed' });
    const reply = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body: captureText(CAPTURES.proxyNamedPort) });
    const { review, patch } = decodePatch(reply.body);
    expect(review.response.patchType).toBe('JSONPatch');
    const annotationOps = patch.filter((op) => op.path.startsWith('/metadata/annotations'));
    expect(annotationOps).toEqual([{ op: 'add', path: '/metadata/annotations', value: { 'ws-sidecar.io/status': 'injected' } }]);
    // Every op's parent exists by the time it applies (validate=true checks paths).
    const capture = loadCapture(CAPTURES.proxyNamedPort);
    expect(() => jsonpatch.applyPatch(structuredClone(capture.request.object), patch, true)).not.toThrow();
  });

  it('never denies: a pod it cannot inject is allowed unchanged with a warning', async () => {
    const server = await start();
    const capture = loadCapture(CAPTURES.twoContainers);
    const reply = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body: captureText(CAPTURES.twoContainers) });
    expect(reply.status).toBe(200);
    const review = JSON.parse(reply.body);
    expect(review.response).toEqual({
      uid: capture.request.uid,
      allowed: true,
      warnings: [expect.stringMatching(/^ws-sidecar: no container declares a TCP port; set ws-sidecar.io\/port/)],
    });
  });

  it('leaves pods alone that did not opt in, and bad annotations become warnings', async () => {
    const server = await start();
    const plain = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: captureText(CAPTURES.generateNameInit) });
    expect(JSON.parse(plain.body).response).toEqual({ uid: loadCapture(CAPTURES.generateNameInit).request.uid, allowed: true });

    const capture = loadCapture(CAPTURES.generateNameInit);
    capture.request.object.metadata.annotations = { 'ws-sidecar.io/inject': 'yes please' };
    const bad = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: JSON.stringify(capture) });
    const response = JSON.parse(bad.body).response;
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeUndefined();
    expect(response.warnings).toEqual(['ws-sidecar: annotation ws-sidecar.io/inject: "yes please" is not true or false; not injected']);

    capture.request.object.metadata.annotations = { 'ws-sidecar.io/inject': 'true', 'ws-sidecar.io/max-connections': 'lots' };
    const defaulted = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: JSON.stringify(capture) });
    const { review, patch } = decodePatch(defaulted.body);
    expect(review.response.patchType).toBe('JSONPatch');
    expect(review.response.warnings[0]).toMatch(/^ws-sidecar: annotation ws-sidecar.io\/max-connections ignored \(--max-connections: "lots" is not a non-negative integer\); using 10000$/);
    const sidecar = patch.find((op) => op.path === '/spec/containers/1') as jsonpatch.AddOperation<any>;
    expect(sidecar.value.args.some((arg: string) => arg.startsWith('--max-connections'))).toBe(false);
  });

  it('gives every pod its own random token without a seed, the same one with a seed', async () => {
    const tokenOf = (body: string): string => {
      const { patch } = decodePatch(body);
      return (patch.find((op) => op.path === '/spec/containers/1') as jsonpatch.AddOperation<any>).value.env[0].value;
    };
    const body = captureText(CAPTURES.generateNameInit);
    let server = await start();
    const a = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body });
    const b = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body });
    expect(tokenOf(a.body)).not.toBe(tokenOf(b.body));
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    server = await start({ tokenSeed: 'seed' });
    const c = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body });
    const d = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate/namespace', headers: json, body });
    expect(tokenOf(c.body)).toBe(tokenOf(d.body));
  });

  it('rejects garbage (400), a wrong content type (415), other methods (405) and paths (404)', async () => {
    const server = await start();
    const garbage = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: '{"apiVersion": "admission.k8s.io/v1", kind' });
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toEqual({ error: 'bad_request', problem: 'body is not JSON' });
    const notReview = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: '{"kind":"Pod"}' });
    expect(notReview.status).toBe(400);
    expect(JSON.parse(notReview.body).problem).toBe('kind is not AdmissionReview');
    const noUid = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{}}' });
    expect(JSON.parse(noUid.body).problem).toBe('request.uid is missing');
    const yaml = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: { 'Content-Type': 'application/yaml' }, body: captureText(CAPTURES.twoContainers) });
    expect(yaml.status).toBe(415);
    const get = await httpsRequest(server.port, { ca: ca.certPem, path: '/mutate' });
    expect(get.status).toBe(405);
    const other = await httpsRequest(server.port, { ca: ca.certPem, path: '/other' });
    expect(other.status).toBe(404);
    const health = await httpsRequest(server.port, { ca: ca.certPem, path: '/healthz' });
    expect(health.status).toBe(200);
  });

  it('cuts a stalled request (headers that never end, a body that stops) within the API server\'s 10 s', async () => {
    const hook = await start();
    const stall = async (bytes: string): Promise<boolean> => {
      const socket = tlsConnect({ host: '127.0.0.1', port: hook.port, rejectUnauthorized: false });
      socket.on('error', () => undefined);
      await once(socket, 'secureConnect');
      socket.write(bytes);
      socket.resume();
      // A bound, not a sleep: true when the webhook closed the connection within it.
      let cutHere = false;
      const bound = setTimeout(() => {
        cutHere = true;
        socket.destroy();
      }, 10_000);
      await once(socket, 'close');
      clearTimeout(bound);
      return !cutHere;
    };
    const [headers, body] = await Promise.all([
      stall('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'),
      stall('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion"'),
    ]);
    expect(headers).toBe(true);
    expect(body).toBe(true);
  });

  it('refuses bodies over the limit with 413, declared or streamed', async () => {
    const server = await start({ maxBodyBytes: 4096 });
    const big = Buffer.alloc(64 * 1024, 0x20);
    const declared = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: { ...json, 'Content-Length': big.length }, body: big });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toEqual({ error: 'payload_too_large', maxBytes: 4096 });
    const streamed = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: { ...json, 'Transfer-Encoding': 'chunked' }, body: big });
    expect(streamed.status).toBe(413);
    expect(streamed.headers.connection).toBe('close');
    // A body at the limit still goes through.
    const fits = await httpsRequest(server.port, { ca: ca.certPem, method: 'POST', path: '/mutate', headers: json, body: '{}'.padEnd(4096, ' ') });
    expect(fits.status).toBe(400);
  });

  it('serves a rotated certificate to new connections and keeps open ones', async () => {
    const server = await start();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await httpsRequest(server.port, { ca: ca.certPem, path: '/healthz', agent: keepAlive });
      expect(before.fingerprint256).toBe(first.fingerprint256);

      const second = ca.issue('webhook-2');
      const reloaded = once(server.events, 'reloaded');
      // Like kubelet's atomic writer: new files appear by rename.
      writeFileSync(join(dir, 'tls.key.new'), second.keyPem);
      writeFileSync(join(dir, 'tls.crt.new'), second.certPem);
      renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
      renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
      await reloaded;

      const fresh = await httpsRequest(server.port, { ca: ca.certPem, path: '/healthz' });
      expect(fresh.status).toBe(200);
      expect(fresh.fingerprint256).toBe(second.fingerprint256);
      const kept = await httpsRequest(server.port, { ca: ca.certPem, path: '/healthz', agent: keepAlive });
      expect(kept.status).toBe(200);
      expect(kept.fingerprint256).toBe(first.fingerprint256);

      // A broken pair is rejected and the last good one stays in use.
      const rejected = once(server.events, 'reload_rejected');
      writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
      await rejected;
      const still = await httpsRequest(server.port, { ca: ca.certPem, path: '/healthz' });
      expect(still.fingerprint256).toBe(second.fingerprint256);
    } finally {
      keepAlive.destroy();
    }
  });
});
