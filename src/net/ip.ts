/**
 * IP literals as bytes and back: the one place rtc-cli turns an address into its 4 or 16 bytes (STUN address
 * attributes, RFC 8489 §14.1/14.2; the signaling server's per-/64 limits and loopback checks; certificate SANs).
 *
 * Validation is node:net's (`isIPv4`/`isIPv6`); text from bytes is Node's own inet_ntop (`net.SocketAddress`), which
 * writes the RFC 5952 canonical form (lower case, the longest run of zero groups compressed, IPv4-mapped addresses as
 * `::ffff:a.b.c.d`). Only the text-to-bytes step for IPv6 is written here, because Node exposes no inet_pton.
 * Nothing here throws on bad input: it comes from the network.
 */
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

/** `a.b.c.d` → 4 bytes, or undefined when the text is not a dotted-quad IPv4 literal. */
export function ipv4ToBytes(text: string): Buffer | undefined {
  if (!isIPv4(text)) return undefined;
  return Buffer.from(text.split('.').map(Number));
}

/**
 * An IPv6 literal (RFC 4291 §2.2: full, `::`-compressed, or with an IPv4 tail) → 16 bytes; undefined when it is not
 * one. A zone id (`fe80::1%eth0`, RFC 4007 §11) is accepted and dropped: it names a local interface, not address bits.
 */
export function ipv6ToBytes(text: string): Buffer | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text.replace(/%.*$/, '');
  // RFC 4291 §2.2 form 3: a dotted-quad tail is the low 32 bits, i.e. the last two groups.
  if (s.includes('.')) {
    const cut = s.lastIndexOf(':') + 1;
    const v4 = ipv4ToBytes(s.slice(cut));
    if (!v4) return undefined;
    s = `${s.slice(0, cut)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  // isIPv6 guarantees at most one "::" and at most eight groups of 1-4 hex digits.
  const [head, tail] = s.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** IPv4 → 4 bytes, IPv6 → 16 bytes, anything else → undefined. */
export function ipToBytes(text: string): Buffer | undefined {
  return ipv4ToBytes(text) ?? ipv6ToBytes(text);
}

/** 4 or 16 bytes → the address as text (IPv6 in RFC 5952 canonical form); undefined for any other length. */
export function bytesToIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return undefined;
  return new SocketAddress({ address: ipv6Groups(bytes), family: 'ipv6' }).address;
}

/** 16 bytes as eight hex groups, nothing compressed (`0:0:0:0:0:0:0:1`): for readers that know no other form. */
export function ipv6Groups(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/**
 * The canonical text of an IP literal (IPv6: RFC 5952, zone id dropped; IPv4 unchanged), or the input unchanged when
 * it is not an IP literal (a host name, an mDNS name).
 */
export function canonicalIp(text: string): string {
  const b = ipv6ToBytes(text);
  return b ? bytesToIp(b)! : text;
}

/** True for the 16 bytes of an IPv4-mapped IPv6 address, ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
export function isV4Mapped(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}
