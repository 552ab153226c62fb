// X-Forwarded-* appended (never replaced) on everything we forward to the app.
import type { IncomingMessage } from 'node:http';

/** Headers that describe one hop and must not be forwarded on plain HTTP. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The client's raw headers plus X-Forwarded-For/Proto/Host, in rawHeaders' flat [name, value, ...] form. */
export function withForwardedHeaders(req: IncomingMessage, dropHopByHop: boolean): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  const dropped = dropHopByHop ? hopByHopOf(req) : undefined;
  const clientIp = stripMappedPrefix(req.socket.remoteAddress ?? '');
  const added: Record<string, string> = {
    'x-forwarded-for': clientIp,
    'x-forwarded-proto': 'http',
    'x-forwarded-host': req.headers.host ?? '',
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (dropped?.has(lower)) continue;
    const extra = added[lower];
    if (extra !== undefined) {
      out.push(name, extra === '' ? raw[i + 1]! : `${raw[i + 1]}, ${extra}`);
      delete added[lower];
    } else {
      out.push(name, raw[i + 1]!);
    }
  }
  for (const [name, value] of Object.entries(added)) if (value !== '') out.push(name, value);
  return out;
}

function hopByHopOf(req: IncomingMessage): Set<string> {
  const listed = String(req.headers.connection ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
  return new Set([...HOP_BY_HOP, ...listed]);
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, as users expect to see it. */
export function stripMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
