// X-Forwarded-* appended (never replaced) on everything we forward to the app,
// and the hop-by-hop headers that plain HTTP must not carry past this hop.
import { formatAddress, type Address } from '../config/config.js';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'] as const;

export interface ForwardedRequest {
  readonly rawHeaders: readonly string[];
  readonly headers: { readonly host?: string };
  readonly socket: { readonly remoteAddress?: string };
}

/**
 * The client's raw headers ([name, value, ...]) with our hop appended to
 * X-Forwarded-For/Proto/Host. Repeated occurrences are merged into one header,
 * so a client cannot smuggle a hop past ours in a second copy. A request without
 * Host (HTTP/1.0) gets `defaultHost`, the app's address, as nginx gives it.
 */
export function withForwardedHeaders(req: ForwardedRequest, dropHopByHop: boolean, defaultHost: string): string[] {
  const dropped = dropHopByHop ? hopByHopHeaders(req.rawHeaders) : undefined;
  const ours: Record<(typeof FORWARDED)[number], string> = {
    'x-forwarded-for': stripMappedPrefix(req.socket.remoteAddress ?? ''),
    'x-forwarded-proto': 'http',
    'x-forwarded-host': req.headers.host ?? '',
  };
  const previous: Record<string, string[]> = {};
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (dropped?.has(lower)) continue;
    if (lower in ours) (previous[lower] ??= []).push(raw[i + 1]!);
    else out.push(raw[i]!, raw[i + 1]!);
  }
  if (req.headers.host === undefined) out.push('Host', defaultHost);
  for (const name of FORWARDED) {
    const hops = [...(previous[name] ?? []), ours[name]].filter((hop) => hop !== '');
    if (hops.length > 0) out.push(name, hops.join(', '));
  }
  return out;
}

/**
 * The upgrade request head as the app gets it, built in one pass into one string
 * (one write): the client's request line and headers as sent, then our
 * X-Forwarded-For/Proto/Host with any earlier hops merged in front, as
 * `withForwardedHeaders` orders them (a head without Host gets the app's address,
 * formatted only then). No arrays, records or lower-cased copies of names other
 * than the few whose length could make them ours.
 */
export function forwardedUpgradeHead(method: string, url: string, httpVersion: string, raw: readonly string[], remoteAddress: string | undefined, app: Address): string {
  let head = `${method} ${url} HTTP/${httpVersion}\r\n`;
  let forwardedFor = '';
  let forwardedProto = '';
  let forwardedHost = '';
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const length = name.length;
    if (length === 4 && host === undefined && name.toLowerCase() === 'host') host = value;
    else if (length >= 15 && length <= 17 && (name.charCodeAt(0) | 0x20) === 0x78) {
      const lower = name.toLowerCase();
      if (lower === 'x-forwarded-for') {
        forwardedFor = joinHop(forwardedFor, value);
        continue;
      }
      if (lower === 'x-forwarded-proto') {
        forwardedProto = joinHop(forwardedProto, value);
        continue;
      }
      if (lower === 'x-forwarded-host') {
        forwardedHost = joinHop(forwardedHost, value);
        continue;
      }
    }
    head += `${name}: ${value}\r\n`;
  }
  if (host === undefined) head += `Host: ${formatAddress(app)}\r\n`;
  forwardedFor = joinHop(forwardedFor, stripMappedPrefix(remoteAddress ?? ''));
  forwardedProto = joinHop(forwardedProto, 'http');
  forwardedHost = joinHop(forwardedHost, host ?? '');
  if (forwardedFor !== '') head += `x-forwarded-for: ${forwardedFor}\r\n`;
  if (forwardedProto !== '') head += `x-forwarded-proto: ${forwardedProto}\r\n`;
  if (forwardedHost !== '') head += `x-forwarded-host: ${forwardedHost}\r\n`;
  return head + '\r\n';
}

function joinHop(hops: string, hop: string): string {
  return hop === '' ? hops : hops === '' ? hop : `${hops}, ${hop}`;
}

/** Hop-by-hop headers of a message: the fixed set plus those its Connection header names. */
export function hopByHopHeaders(rawHeaders: readonly string[]): Set<string> {
  const names = new Set(HOP_BY_HOP);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) if (token.trim() !== '') names.add(token.trim().toLowerCase());
  }
  return names;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, as users expect to see it. */
export function stripMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
