/**
 * Transport addresses as STUN attributes carry them (RFC 8489 §14.1/14.2): an IP literal and a port. formatEndpoint
 * is the one way rtc-cli renders an address and port for people (`1.2.3.4:5`, `[::1]:5`, RFC 3986 §3.2.2).
 */
import { isIP } from 'node:net';
import { canonicalIp, ipv6ToBytes, isV4Mapped } from '../net/ip.js';

export interface Endpoint {
  address: string;
  port: number;
}

/**
 * Normalize an address as Node or a STUN server reports it: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes
 * its IPv4 address, other IPv6 addresses their RFC 5952 form (zone id kept); anything else is lower-cased.
 */
export function normalizeAddress(addr: string): string {
  const b = ipv6ToBytes(addr);
  if (!b) return addr.toLowerCase();
  if (isV4Mapped(b)) return b.subarray(12).join('.');
  // Keep a zone id (fe80::1%eth0, RFC 4007 §11): a reply to a link-local address needs it to leave the right interface.
  return canonicalIp(addr) + (/%.*$/.exec(addr)?.[0] ?? '');
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && normalizeAddress(a.address) === normalizeAddress(b.address);
}

/** "ip:port", an IPv6 literal in brackets (RFC 3986 §3.2.2); a host name or mDNS name as it is. */
export function formatEndpoint(ep: Endpoint): string {
  return isIP(ep.address) === 6 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

/** 4 or 6 for an IP literal (IPv4-mapped IPv6 counts as 4), 0 for anything else. */
export function familyOf(address: string): 0 | 4 | 6 {
  return isIP(normalizeAddress(address)) as 0 | 4 | 6;
}
