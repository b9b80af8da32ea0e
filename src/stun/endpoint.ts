/**
 * Transport addresses as STUN attributes carry them (RFC 8489 §14.1/14.2): an IP literal and a port.
 */
import { isIP } from 'node:net';

export interface Endpoint {
  address: string;
  port: number;
}

/** Normalize an address as Node reports it: strip IPv4-mapped IPv6 (::ffff:a.b.c.d) and lower-case IPv6. */
export function normalizeAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (m) return m[1]!;
  return addr.toLowerCase();
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && normalizeAddress(a.address) === normalizeAddress(b.address);
}

/** "ip:port", IPv6 in brackets. */
export function formatEndpoint(ep: Endpoint): string {
  return isIP(ep.address) === 6 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

/** 4 or 6 for an IP literal (IPv4-mapped IPv6 counts as 4), 0 for anything else. */
export function familyOf(address: string): 0 | 4 | 6 {
  return isIP(normalizeAddress(address)) as 0 | 4 | 6;
}
