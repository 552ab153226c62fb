import { describe, expect, it } from 'vitest';
import { responseEndOf } from '../../proxy/protocol/response-end.js';

/** Feeds `body` (plus trailing bytes that are not part of it) split at `split`; returns the bytes taken. */
function taken(statusCode: number, headers: Record<string, string>, body: string, split: number): { taken: number; done: boolean } {
  const end = responseEndOf(statusCode, new Map(Object.entries(headers)));
  const bytes = Buffer.from(body + 'NEXT RESPONSE');
  let total = end.feed(bytes.subarray(0, split));
  if (!end.done) total += end.feed(bytes.subarray(split));
  return { taken: total, done: end.done };
}

describe('responseEndOf', () => {
  const chunked = '5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\n';

  it('finds the end of a chunked body with extensions and trailers, split anywhere', () => {
    for (let split = 0; split <= chunked.length; split++) {
      expect(taken(401, { 'transfer-encoding': 'chunked' }, chunked, split)).toEqual({ taken: chunked.length, done: true });
    }
  });

  it('counts a Content-Length body', () => {
    for (let split = 0; split <= 9; split++) expect(taken(403, { 'content-length': '9' }, 'forbidden', split)).toEqual({ taken: 9, done: true });
  });

  it('knows 204, 304 and 1xx have no body', () => {
    for (const status of [204, 304, 100]) expect(taken(status, { 'content-length': '10' }, '', 0)).toEqual({ taken: 0, done: true });
  });

  it('reads to the close when the length is not given', () => {
    const result = taken(400, {}, 'whatever', 3);
    expect(result.done).toBe(false);
    expect(result.taken).toBe('whatever'.length + 'NEXT RESPONSE'.length);
  });
});
