// Tenant extraction on real requests: a real HTTP server, raw sockets from chosen loopback addresses.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlagValue, type TenantSource } from '../../proxy/config/config.js';
import { findRunFlag } from '../../proxy/config/flags.js';
import { createTrustedPeerCheck } from '../../proxy/admission/client-ip.js';
import { createTenantResolver, MAX_TENANT_BYTES, type TenantResolver } from '../../proxy/admission/tenant.js';

let server: Server;
let port: number;
let tenantOf: TenantResolver = () => undefined;
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  // Resolved while the request's socket is open, as admission does.
  server = createServer((req, res) => {
    seen.push(tenantOf(req));
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends one raw request from `localAddress` and returns the tenant the server resolved for it. */
async function tenantFor(head: string, localAddress = '127.0.0.1'): Promise<string | undefined> {
  const before = seen.length;
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  socket.write(`${head}\r\nHost: t\r\nConnection: close\r\n\r\n`);
  socket.resume();
  await once(socket, 'close');
  expect(seen.length).toBe(before + 1);
  return seen[before];
}

function source(raw: string): TenantSource {
  const parsed = parseFlagValue(findRunFlag('tenant-from')!, raw);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value as TenantSource;
}

describe('tenant resolver', () => {
  it('header: believed only from a trusted proxy; a repeated header counts its last copy', async () => {
    tenantOf = createTenantResolver(source('header:X-Tenant'), createTrustedPeerCheck(['127.0.0.4/32']));
    expect(await tenantFor('GET / HTTP/1.1\r\nX-Tenant: acme', '127.0.0.4')).toBe('acme');
    expect(await tenantFor('GET / HTTP/1.1\r\nX-Tenant: acme', '127.0.0.2')).toBeUndefined();
    // The client sent one, the proxy appended its own: the proxy's is last.
    expect(await tenantFor('GET / HTTP/1.1\r\nx-tenant: victim\r\nX-Tenant: attacker-corp', '127.0.0.4')).toBe('attacker-corp');
    expect(await tenantFor('GET / HTTP/1.1\r\nX-Tenant:   ', '127.0.0.4')).toBeUndefined();
    expect(await tenantFor('GET / HTTP/1.1', '127.0.0.4')).toBeUndefined();
  });

  it('query: the first value of the parameter, percent-decoded; none when absent or empty', async () => {
    tenantOf = createTenantResolver(source('query:tenant'), createTrustedPeerCheck([]));
    expect(await tenantFor('GET /chat?room=1&tenant=a%20b&tenant=c HTTP/1.1')).toBe('a b');
    expect(await tenantFor('GET /chat?room=1 HTTP/1.1')).toBeUndefined();
    expect(await tenantFor('GET /chat?tenant= HTTP/1.1')).toBeUndefined();
    expect(await tenantFor('GET /chat HTTP/1.1')).toBeUndefined();
  });

  it('cookie: the first cookie of that name, quotes removed', async () => {
    tenantOf = createTenantResolver(source('cookie:tid'), createTrustedPeerCheck([]));
    expect(await tenantFor('GET / HTTP/1.1\r\nCookie: a=1; tid=t-42; tid=other')).toBe('t-42');
    expect(await tenantFor('GET / HTTP/1.1\r\nCookie: tid="quoted"')).toBe('quoted');
    expect(await tenantFor('GET / HTTP/1.1\r\nCookie: xtid=1')).toBeUndefined();
    expect(await tenantFor('GET / HTTP/1.1')).toBeUndefined();
  });

  it(`values over ${MAX_TENANT_BYTES} bytes become a fixed-size digest, the same for the same value`, async () => {
    tenantOf = createTenantResolver(source('query:t'), createTrustedPeerCheck([]));
    const long = 'x'.repeat(4000);
    const first = await tenantFor(`GET /?t=${long} HTTP/1.1`);
    const again = await tenantFor(`GET /?t=${long} HTTP/1.1`);
    const other = await tenantFor(`GET /?t=${long}y HTTP/1.1`);
    expect(first).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('--tenant-from accepts header:, query: and cookie: with a valid name only', () => {
    const spec = findRunFlag('tenant-from')!;
    expect(source('header:X-Tenant-Id')).toEqual({ from: 'header', name: 'x-tenant-id' });
    expect(source('cookie:Tid')).toEqual({ from: 'cookie', name: 'Tid' });
    expect(parseFlagValue(spec, '')).toEqual({ ok: true, value: undefined });
    for (const bad of ['header:', 'header:x tenant', 'path:tenant', 'query:a=b', 'cookie:a;b', 'tenant']) {
      expect(parseFlagValue(spec, bad)).toMatchObject({ ok: false, problem: expect.stringContaining('header:<name>, query:<name> or cookie:<name>') });
    }
  });
});
