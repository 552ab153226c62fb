// Who may trigger a drain: bearer-token holders when a token is set, else loopback callers only.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList } from 'node:net';
import { stripMappedPrefix } from '../protocol/forwarded-headers.js';

export type DrainAuthorization = { allowed: true } | { allowed: false; status: 401 | 403; reason: string };

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = stripMappedPrefix(address);
  return plain.includes(':') ? loopback.check(plain, 'ipv6') : loopback.check(plain, 'ipv4');
}

/** The decision, apart from the request, so it can be tested for any caller address. */
export function decideDrainAuthorization(remoteAddress: string | undefined, authorization: string | undefined, token: string): DrainAuthorization {
  if (token === '') {
    return isLoopback(remoteAddress) ? { allowed: true } : { allowed: false, status: 403, reason: 'drain_from_loopback_only' };
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return { allowed: false, status: 401, reason: 'bearer_token_required' };
  return tokensEqual(match[1]!.trim(), token) ? { allowed: true } : { allowed: false, status: 403, reason: 'bad_token' };
}

export function authorizeDrain(req: IncomingMessage, token: string): DrainAuthorization {
  return decideDrainAuthorization(req.socket.remoteAddress, req.headers.authorization, token);
}

/** Constant-time: both sides are hashed to the same length first. */
function tokensEqual(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
