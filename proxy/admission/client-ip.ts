// The client's address: the socket's, or — when the socket belongs to a trusted
// proxy — the right-most X-Forwarded-For hop that is not itself a trusted proxy.
import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { stripMappedPrefix } from '../protocol/forwarded-headers.js';

/** What admission reads of an upgrade request (Node's IncomingMessage has it, so has the head reader's). */
export interface AdmissionRequest {
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly socket: { readonly remoteAddress?: string };
}

export type ClientIpResolver = (req: AdmissionRequest) => string;

/** Whether an address is one of `--trusted-proxies`; also decides whose tenant header is believed. */
export type TrustedPeerCheck = (address: string) => boolean;

export function createTrustedPeerCheck(trustedProxies: readonly string[]): TrustedPeerCheck {
  if (trustedProxies.length === 0) return () => false;
  const trusted = new BlockList();
  for (const cidr of trustedProxies) {
    const [address, prefix] = cidr.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** The socket's own peer, without the IPv4-mapped prefix. */
export function peerAddressOf(req: AdmissionRequest): string {
  return stripMappedPrefix(req.socket.remoteAddress ?? '');
}

export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  if (trustedProxies.length === 0) return peerAddressOf;
  const isTrusted = createTrustedPeerCheck(trustedProxies);
  return (req) => {
    const peer = peerAddressOf(req);
    if (!isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((hop) => stripMappedPrefix(hop.trim()))
      .filter((hop) => hop !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      // A malformed hop cannot be trusted further: it is the client as far as we can tell.
      if (!isTrusted(hop)) return hop;
    }
    return hops[0] ?? peer;
  };
}
