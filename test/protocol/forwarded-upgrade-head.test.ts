import { describe, expect, it } from 'vitest';
import { forwardedUpgradeHead, withForwardedHeaders } from '../../proxy/protocol/forwarded-headers.js';

const APP = { host: '127.0.0.1', port: 8080 };

/** The head as it was built before: the general header list, then one line per pair. */
function viaHeaderList(method: string, url: string, httpVersion: string, raw: string[], remoteAddress: string): string {
  const host = raw.find((_, i) => i % 2 === 0 && raw[i]!.toLowerCase() === 'host');
  const hostValue = host === undefined ? undefined : raw[raw.indexOf(host) + 1];
  const headers = withForwardedHeaders({ rawHeaders: raw, headers: { host: hostValue }, socket: { remoteAddress } }, false, '127.0.0.1:8080');
  let head = `${method} ${url} HTTP/${httpVersion}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + '\r\n';
}

describe('forwardedUpgradeHead', () => {
  it('keeps the request line and headers as sent and appends our hop last', () => {
    const raw = ['Host', 'app.test', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'Cookie', 'a=1'];
    expect(forwardedUpgradeHead('GET', '/chat?x=1', '1.1', raw, '::ffff:10.1.2.3', APP)).toBe(
      'GET /chat?x=1 HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nCookie: a=1\r\n' +
        'x-forwarded-for: 10.1.2.3\r\nx-forwarded-proto: http\r\nx-forwarded-host: app.test\r\n\r\n',
    );
  });

  it('merges earlier hops (repeated, any case) in front of ours, dropping empty ones', () => {
    const raw = ['X-Forwarded-For', '1.1.1.1', 'host', 'h', 'x-forwarded-for', '2.2.2.2, 3.3.3.3', 'X-FORWARDED-PROTO', 'https', 'X-Forwarded-Host', '', 'X-Forwarded-Hosts', 'kept'];
    const head = forwardedUpgradeHead('GET', '/', '1.1', raw, '127.0.0.1', APP);
    expect(head).toContain('x-forwarded-for: 1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1\r\n');
    expect(head).toContain('x-forwarded-proto: https, http\r\n');
    expect(head).toContain('x-forwarded-host: h\r\n');
    expect(head).toContain('X-Forwarded-Hosts: kept\r\n');
  });

  it.each([
    [['Host', 'a', 'Upgrade', 'websocket']],
    [['Host', 'a', 'Host', 'b', 'X-Forwarded-For', 'x', 'X-Forwarded-Proto', 'ws']],
    [['Upgrade', 'websocket', 'X-Forwarded-Host', 'front', 'x-forwarded-host', 'front2']],
    [[]],
  ])('builds the same head as the general header list (%j)', (raw) => {
    expect(forwardedUpgradeHead('GET', '/p', '1.1', raw, '::1', APP)).toBe(viaHeaderList('GET', '/p', '1.1', raw, '::1'));
    expect(forwardedUpgradeHead('GET', '/p', '1.0', raw, '::1', APP)).toBe(viaHeaderList('GET', '/p', '1.0', raw, '::1'));
  });

  it('keeps the version and gives a head without Host the app address, before our hop', () => {
    expect(forwardedUpgradeHead('GET', '/', '1.0', ['Upgrade', 'websocket'], '10.0.0.1', { host: '::1', port: 9 })).toBe(
      'GET / HTTP/1.0\r\nUpgrade: websocket\r\nHost: [::1]:9\r\nx-forwarded-for: 10.0.0.1\r\nx-forwarded-proto: http\r\n\r\n',
    );
  });
});
