// Who may trigger a drain: bearer-token holders when a token is set, else loopback callers
// only, and never a request a web page could have forged.
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

/** What a browser puts on a request that a page could have made. */
export interface BrowserHeaders {
  readonly host?: string;
  readonly origin?: string;
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 or [::1], with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || lower.endsWith('.localhost') || isLoopback(lower);
}

/**
 * The decision, apart from the request, so it can be tested for any caller. Without a
 * token, loopback is not enough: a page in the developer's browser is on loopback too
 * (`<img src=http://127.0.0.1:9090/drain>`, or a DNS-rebound name), so a foreign Origin
 * and a Host that is not a loopback name or address are refused.
 */
export function decideDrainAuthorization(remoteAddress: string | undefined, authorization: string | undefined, token: string, browser: BrowserHeaders = {}): DrainAuthorization {
  if (token === '') {
    if (!isLoopback(remoteAddress)) return { allowed: false, status: 403, reason: 'drain_from_loopback_only' };
    if (browser.host !== undefined && !isLoopbackHost(browser.host)) return { allowed: false, status: 403, reason: 'drain_host_not_loopback' };
    if (browser.origin !== undefined && browser.origin !== `http://${browser.host}`) return { allowed: false, status: 403, reason: 'drain_foreign_origin' };
    return { allowed: true };
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return { allowed: false, status: 401, reason: 'bearer_token_required' };
  return tokensEqual(match[1]!.trim(), token) ? { allowed: true } : { allowed: false, status: 403, reason: 'bad_token' };
}

export function authorizeDrain(req: IncomingMessage, token: string): DrainAuthorization {
  return decideDrainAuthorization(req.socket.remoteAddress, req.headers.authorization, token, { host: req.headers.host, origin: req.headers.origin });
}

/** Constant-time: both sides are hashed to the same length first. */
function tokensEqual(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
