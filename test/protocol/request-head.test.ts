import { describe, expect, it } from 'vitest';
import { findHeadEnd, isRequestHeadError, parseRequestHead, type RequestHead } from '../../proxy/protocol/request-head.js';

const UPGRADE =
  'GET /chat?room=1 HTTP/1.1\r\nHost: example.test:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: a=1\r\ncookie: b=2\r\n' +
  'Set-Cookie: x\r\nSet-Cookie: y\r\nX-Spaces: \t padded value \t\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n';

function parse(text: string): RequestHead | { error: string } {
  const bytes = Buffer.from(text, 'latin1');
  const end = findHeadEnd(bytes, 0);
  if (end < 0) return { error: `no end (${end})` };
  return parseRequestHead(bytes, end);
}

function parsedOk(text: string): RequestHead {
  const head = parse(text);
  if (isRequestHeadError(head)) throw new Error(head.error);
  return head;
}

describe('parseRequestHead', () => {
  it('reads the request line and every header as sent', () => {
    const head = parsedOk(UPGRADE);
    expect(head.method).toBe('GET');
    expect(head.url).toBe('/chat?room=1');
    expect(head.httpVersion).toBe('1.1');
    expect(head.rawHeaders.slice(0, 4)).toEqual(['Host', 'example.test:8080', 'Upgrade', 'websocket']);
    expect(head.rawHeaders).toContain('padded value');
    expect(head.rawHeaders[head.rawHeaders.indexOf('X-Empty') + 1]).toBe('');
    expect(head.rawHeaders[head.rawHeaders.indexOf('X-Latin') + 1]).toBe('caf\xe9');
  });

  it('builds the headers object as Node does: lower-case names, repeats joined, set-cookie a list', () => {
    const { headers } = parsedOk(UPGRADE);
    expect(headers.host).toBe('example.test:8080');
    expect(headers.cookie).toBe('a=1, b=2');
    expect(headers['set-cookie']).toEqual(['x', 'y']);
    expect(headers['sec-websocket-version']).toBe('13');
  });

  it('accepts HTTP/1.0 and any token method', () => {
    const head = parsedOk('PURGE /x HTTP/1.0\r\n\r\n');
    expect([head.method, head.httpVersion, head.rawHeaders]).toEqual(['PURGE', '1.0', []]);
  });

  it.each([
    ['a space in the method', 'G T / HTTP/1.1\r\n\r\n'],
    ['no request target', 'GET  HTTP/1.1\r\n\r\n'],
    ['a control byte in the target', 'GET /a\x01b HTTP/1.1\r\n\r\n'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\n\r\n'],
    ['junk after the version', 'GET / HTTP/1.1x\r\n\r\n'],
    ['obs-fold', 'GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n'],
    ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['no colon', 'GET / HTTP/1.1\r\nHost\r\n\r\n'],
    ['an empty field name', 'GET / HTTP/1.1\r\n: x\r\n\r\n'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n'],
    ['DEL in a value', 'GET / HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n'],
    ['a non-token byte in a name', 'GET / HTTP/1.1\r\nX(A): 1\r\n\r\n'],
  ])('refuses %s', (_name, text) => {
    const head = parse(text);
    expect(isRequestHeadError(head)).toBe(true);
  });
});

describe('findHeadEnd', () => {
  it('finds the blank line wherever the head is cut, looking at each byte once', () => {
    const bytes = Buffer.from(UPGRADE + 'PIPELINED', 'latin1');
    const end = UPGRADE.length;
    expect(findHeadEnd(bytes, 0)).toBe(end);
    for (let cut = 1; cut < end; cut++) {
      // What the reader does: scan what it has, then go on from (nearly) where it stopped.
      const first = findHeadEnd(bytes.subarray(0, cut), 0);
      expect(first, `cut ${cut}`).toBe(-1);
      expect(findHeadEnd(bytes, Math.max(0, cut - 3)), `cut ${cut}`).toBe(end);
    }
  });

  it('refuses a bare LF anywhere in the head', () => {
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: x\n\n'), 0)).toBe(-2);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: x\n\r\n'), 0)).toBe(-2);
    expect(findHeadEnd(Buffer.from('\n'), 0)).toBe(-2);
  });

  it('waits while there is no blank line', () => {
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), 0)).toBe(-1);
  });
});
