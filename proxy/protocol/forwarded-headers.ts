// X-Forwarded-* appended (never replaced) on everything we forward to the app,
// and the hop-by-hop headers that plain HTTP must not carry past this hop.

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
