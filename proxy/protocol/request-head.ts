// A strict HTTP/1.x request-head parser for the upgrade fast path: one pass over
// the head's bytes, no regex, no split, no intermediate strings per header but the
// name and value themselves. Anything RFC 9112 does not allow is an error (no
// obs-fold, no whitespace before a colon, no bare CR or LF, no control bytes):
// a head that is not plainly valid is refused rather than guessed at.
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestHead {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: '1.0' | '1.1';
  /** `[name, value, name, value, ...]` as sent (latin1, values without surrounding whitespace). */
  readonly rawHeaders: string[];
  /** Lower-cased names, repeats joined with `, ` (`set-cookie` as a list), as Node builds them. */
  readonly headers: IncomingHttpHeaders;
}

export interface RequestHeadError {
  readonly error: string;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** RFC 9110 tchar: what a method or a field name may be made of. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

export const isTokenByte = (byte: number): boolean => TCHAR[byte] === 1;

/** A field value byte: HTAB, SP, VCHAR, obs-text. */
const isValueByte = (c: number): boolean => c === HT || (c >= SP && c !== 0x7f);
/** A request-target byte: anything visible (obs-text included, as browsers send raw UTF-8 paths). */
const isTargetByte = (c: number): boolean => c > SP && c !== 0x7f;

/**
 * Parses `head[0, end)`, which ends with the blank line (`\r\n\r\n`).
 * Returns the head, or what is wrong with it.
 */
export function parseRequestHead(head: Buffer, end: number): RequestHead | RequestHeadError {
  const text = head.toString('latin1', 0, end);
  let i = 0;
  while (i < end && TCHAR[text.charCodeAt(i)] === 1) i++;
  if (i === 0 || text.charCodeAt(i) !== SP) return { error: 'malformed method' };
  const method = text.slice(0, i);
  const targetStart = ++i;
  while (i < end && isTargetByte(text.charCodeAt(i))) i++;
  if (i === targetStart || text.charCodeAt(i) !== SP) return { error: 'malformed request target' };
  const url = text.slice(targetStart, i);
  i++;
  if (!text.startsWith('HTTP/1.', i) || text.charCodeAt(i + 8) !== CR || text.charCodeAt(i + 9) !== LF) return { error: 'malformed HTTP version' };
  const minor = text.charCodeAt(i + 7);
  if (minor !== 0x30 && minor !== 0x31) return { error: 'unsupported HTTP version' };
  i += 9;

  const rawHeaders: string[] = [];
  // i is at the LF ending the previous line.
  for (;;) {
    const lineStart = i + 1;
    const first = text.charCodeAt(lineStart);
    if (first === CR) {
      if (text.charCodeAt(lineStart + 1) !== LF || lineStart + 2 !== end) return { error: 'malformed end of head' };
      break;
    }
    let j = lineStart;
    while (TCHAR[text.charCodeAt(j)] === 1) j++;
    // Covers obs-fold (a line starting with whitespace) and whitespace before the colon.
    if (j === lineStart || text.charCodeAt(j) !== COLON) return { error: 'malformed header line' };
    const name = text.slice(lineStart, j);
    j++;
    while (j < end && (text.charCodeAt(j) === SP || text.charCodeAt(j) === HT)) j++;
    const valueStart = j;
    let valueEnd = j;
    for (;;) {
      const c = text.charCodeAt(j);
      if (c === CR) break;
      if (!isValueByte(c)) return { error: 'invalid byte in a header value' };
      j++;
      if (c !== SP && c !== HT) valueEnd = j;
    }
    if (text.charCodeAt(j + 1) !== LF) return { error: 'bare CR in a header' };
    rawHeaders.push(name, text.slice(valueStart, valueEnd));
    i = j + 1;
  }
  return new ParsedHead(method, url, minor === 0x31 ? '1.1' : '1.0', rawHeaders);
}

export function isRequestHeadError(parsed: RequestHead | RequestHeadError): parsed is RequestHeadError {
  return (parsed as RequestHeadError).error !== undefined;
}

class ParsedHead implements RequestHead {
  private headersObject: IncomingHttpHeaders | undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly httpVersion: '1.0' | '1.1',
    readonly rawHeaders: string[],
  ) {}

  /** Built on first use: the fast path reads raw headers and rarely needs this. */
  get headers(): IncomingHttpHeaders {
    return (this.headersObject ??= headersObjectOf(this.rawHeaders));
  }
}

function headersObjectOf(raw: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const previous = headers[name];
    if (name === 'set-cookie') headers[name] = previous === undefined ? [value] : [...(previous as string[]), value];
    else headers[name] = previous === undefined ? value : `${previous as string}, ${value}`;
  }
  return headers as IncomingHttpHeaders;
}

/**
 * Where the head in `buffer` ends (the index after its blank line), -1 if not yet,
 * or -2 when a line ends with a bare LF (refused: strict CRLF only). `from` is
 * where the previous call left off, so each byte is looked at once.
 */
export function findHeadEnd(buffer: Buffer, from: number): number {
  let lf = buffer.indexOf(LF, from);
  while (lf >= 0) {
    if (lf === 0 || buffer[lf - 1] !== CR) return -2;
    if (lf >= 3 && buffer[lf - 2] === LF && buffer[lf - 3] === CR) return lf + 1;
    lf = buffer.indexOf(LF, lf + 1);
  }
  return -1;
}
