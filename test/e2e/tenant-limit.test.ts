// --max-connections-per-tenant without fleet mode: a cap per tenant on each pod, through the real CLI.
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runCli } from '../helpers/sidecar-process.js';
import { attempt, closeClient, metric, opened, refused, type Attempt } from '../helpers/upgrade-attempt.js';
import { withSidecar } from '../helpers/with-sidecar.js';

const terminateAll = (results: Attempt[]): void => {
  for (const r of opened(results)) r.ws.terminate();
};

describe('per-pod tenant cap', () => {
  it('query tenant, cap 3: of 6 concurrent upgrades of one tenant 3 open and 3 get 429; other tenants and tenantless clients are unaffected', async () => {
    await withSidecar({ args: ['--tenant-from', 'query:tenant', '--max-connections-per-tenant', '3'] }, async ({ wsUrl, sidecar, app }) => {
      const acme = await Promise.all(Array.from({ length: 6 }, () => attempt(`${wsUrl}/chat?tenant=acme`)));
      const others = await Promise.all([
        ...Array.from({ length: 3 }, () => attempt(`${wsUrl}/chat?tenant=globex`)),
        ...Array.from({ length: 5 }, () => attempt(`${wsUrl}/chat`)),
      ]);
      try {
        expect(opened(acme).length).toBe(3);
        const limited = refused(acme);
        expect(limited.length).toBe(3);
        for (const r of limited) {
          expect(r.status).toBe(429);
          expect(Number(r.retryAfter)).toBeGreaterThan(0);
          expect(JSON.parse(r.body)).toMatchObject({ error: 'tenant_limit' });
        }
        expect(opened(others).length).toBe(8);
        expect(app.upgrades.length).toBe(11);
        expect(await metric(sidecar.adminPort, /ws_sidecar_connections_total\{outcome="rejected_tenant_limit"\} (\d+)/)).toBe(3);
        // A closed connection gives its tenant slot back: exactly one more of acme's gets in.
        await closeClient(opened(acme)[0]!.ws);
        const again = await Promise.all(Array.from({ length: 2 }, () => attempt(`${wsUrl}/chat?tenant=acme`)));
        expect(opened(again).length).toBe(1);
        expect(refused(again).map((r) => r.status)).toEqual([429]);
        terminateAll(again);
      } finally {
        terminateAll([...acme, ...others]);
      }
    });
  });

  it('header tenant: believed from a trusted proxy only, so a client cannot spend another tenant\'s quota', async () => {
    const args = ['--tenant-from', 'header:x-tenant', '--trusted-proxies', '127.0.0.4/32', '--max-connections-per-tenant', '2'];
    await withSidecar({ args }, async ({ wsUrl }) => {
      const viaProxy = { localAddress: '127.0.0.4', headers: { 'X-Tenant': 'acme' } };
      const sequence: Attempt[] = [];
      for (let i = 0; i < 3; i++) sequence.push(await attempt(wsUrl, viaProxy));
      // From an untrusted peer the header means nothing: not capped as acme, and acme's slots stay acme's.
      const direct = await Promise.all(Array.from({ length: 4 }, () => attempt(wsUrl, { localAddress: '127.0.0.2', headers: { 'X-Tenant': 'acme' } })));
      try {
        expect(sequence.map((r) => (r.kind === 'http' ? r.status : r.kind))).toEqual(['open', 'open', 429]);
        expect(opened(direct).length).toBe(4);
      } finally {
        terminateAll([...sequence, ...direct]);
      }
    });
  });

  it('close mode: over the tenant cap the client gets a handshake and close 1013 "tenant_limit; delay_ms=…"', async () => {
    await withSidecar({ args: ['--tenant-from', 'cookie:tid', '--max-connections-per-tenant', '1', '--reject-with', 'close'] }, async ({ wsUrl, app }) => {
      const first = await attempt(wsUrl, { headers: { Cookie: 'tid=t1' } });
      const second = await attempt(wsUrl, { headers: { Cookie: 'theme=dark; tid=t1' } });
      try {
        expect(first.kind).toBe('open');
        expect(second.kind).toBe('open');
        const { code, reason } = await (second as Extract<Attempt, { kind: 'open' }>).closed;
        expect(code).toBe(1013);
        expect(reason).toMatch(/^tenant_limit; delay_ms=\d+$/);
        expect((first as Extract<Attempt, { kind: 'open' }>).ws.readyState).toBe(WebSocket.OPEN);
        expect(app.upgrades.length).toBe(1);
      } finally {
        terminateAll([first, second]);
      }
    });
  });

  it('refuses tenant flags that cannot work, all at once, with exit 2', async () => {
    const result = await runCli(['--max-connections-per-tenant', '5', '--tenant-from', 'path:x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--tenant-from: "path:x" is not header:<name>, query:<name> or cookie:<name>');
    const unusable = await runCli(['--max-connections-per-tenant', '5']);
    expect(unusable.code).toBe(2);
    expect(unusable.stderr).toContain('--max-connections-per-tenant needs --tenant-from');
    const untrusted = await runCli(['--tenant-from', 'header:x-tenant']);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain('--tenant-from header:… needs --trusted-proxies');
  });
});
