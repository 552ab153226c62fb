// A connection's tenant, from the part of the upgrade request `--tenant-from` names.
// A header is believed only when the socket's peer is a trusted proxy (as
// X-Forwarded-For is): otherwise a client could fill another tenant's quota by
// sending its name. Query and cookie tenants are the client's word: cooperative only.
import { createHash } from 'node:crypto';
import type { TenantSource } from '../config/config.js';
import { peerAddressOf, type AdmissionRequest, type TrustedPeerCheck } from './client-ip.js';

/** The tenant, or undefined when the request names none (such a connection is not tenant-capped). */
export type TenantResolver = (req: AdmissionRequest) => string | undefined;

/** Longer values are replaced by a digest, so a peer cannot make the store keep large keys. */
export const MAX_TENANT_BYTES = 128;

export function createTenantResolver(source: TenantSource, isTrustedPeer: TrustedPeerCheck): TenantResolver {
  const { name } = source;
  switch (source.from) {
    case 'header':
      return (req) => (isTrustedPeer(peerAddressOf(req)) ? bounded(lastHeaderValue(req, name)) : undefined);
    case 'query':
      return (req) => bounded(queryValue(req.url ?? '', name));
    case 'cookie':
      return (req) => bounded(cookieValue(req.headers.cookie, name));
  }
}

/** A repeated header is one the client sent and a proxy added to: the last copy is the proxy's. */
function lastHeaderValue(req: AdmissionRequest, name: string): string | undefined {
  const joined = req.headers[name];
  const value = Array.isArray(joined) ? joined[joined.length - 1] : joined;
  // Node joins repeated headers with ', '; only then is the raw list worth walking.
  if (value === undefined || !value.includes(',')) return value?.trim();
  let last: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) last = raw[i + 1];
  return last?.trim();
}

function queryValue(url: string, name: string): string | undefined {
  const start = url.indexOf('?');
  if (start < 0) return undefined;
  const end = url.indexOf('#', start);
  return new URLSearchParams(url.slice(start + 1, end < 0 ? undefined : end)).get(name)?.trim() ?? undefined;
}

/** The first cookie of that name (RFC 6265: the most specific path comes first). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

function bounded(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length <= MAX_TENANT_BYTES / 4 || Buffer.byteLength(value) <= MAX_TENANT_BYTES) return value;
  return 'sha256:' + createHash('sha256').update(value).digest('base64url');
}
