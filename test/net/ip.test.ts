// The one IP parser (src/net/ip.ts) and what is built on it: RFC 5769 §2.2/§2.3 address vectors through the STUN
// codec, RFC 5952 canonical text, IPv4-mapped and zone-id addresses, bad input (never a throw), and the consumers
// that used to carry their own parsers (the RFC 3489 encoder, the limiter key, the loopback check).
import { describe, expect, it } from 'vitest';
import { bytesToIp, canonicalIp, ipToBytes, ipv4ToBytes, ipv6Groups, ipv6ToBytes, isV4Mapped } from '../../src/net/ip.js';
import { formatEndpoint, normalizeAddress, sameEndpoint } from '../../src/stun/endpoint.js';
import { createStunMessage, decodeStunMessage, encodeStunMessage, mappedAddressOf } from '../../src/stun/message.js';
import { encodeAddressValue } from '../../src/stun/rfc3489.js';
import { addressKey } from '../../src/signaling/limiter.js';
import { isLoopbackHost } from '../../src/signaling/origin.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const h = (b: Buffer | undefined): string | undefined => b?.toString('hex');

// RFC 5769 §2.2 and §2.3 sample responses, verbatim (transaction id b7e7a701bc34d686fa87dfae).
const RFC5769_IPV4_RESPONSE = hex(`0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
00200008 0001a147e112a643 000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96`);
const RFC5769_IPV6_RESPONSE = hex(`010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed41
80280004c8fb0b4c`);

describe('ip: text to bytes', () => {
  it('parses every RFC 4291 §2.2 form', () => {
    expect(h(ipv6ToBytes('2001:db8:1234:5678:11:2233:4455:6677'))).toBe('20010db8123456780011223344556677');
    expect(h(ipv6ToBytes('::'))).toBe('0'.repeat(32));
    expect(h(ipv6ToBytes('::1'))).toBe(`${'0'.repeat(30)}01`);
    expect(h(ipv6ToBytes('1::'))).toBe(`0001${'0'.repeat(28)}`);
    expect(h(ipv6ToBytes('fd00::2'))).toBe('fd000000000000000000000000000002');
    expect(h(ipv6ToBytes('2001:DB8:0:0:1:0:0:1'))).toBe('20010db8000000000001000000000001');
    expect(h(ipv6ToBytes('::ffff:1.2.3.4'))).toBe('00000000000000000000ffff01020304');
    expect(h(ipv6ToBytes('1:2:3:4:5:6:10.0.0.1'))).toBe('0001000200030004000500060a000001');
    expect(h(ipv6ToBytes('::1.2.3.4'))).toBe('00000000000000000000000001020304');
  });

  it('drops a zone id (RFC 4007 §11): it names an interface, not address bits', () => {
    expect(h(ipv6ToBytes('fe80::1%eth0'))).toBe('fe800000000000000000000000000001');
    expect(h(ipv6ToBytes('fe80::1%25'))).toBe('fe800000000000000000000000000001');
  });

  it('IPv4 is four bytes; ipToBytes takes either family', () => {
    expect(h(ipv4ToBytes('192.0.2.1'))).toBe('c0000201');
    expect(h(ipToBytes('192.0.2.1'))).toBe('c0000201');
    expect(ipToBytes('::1')?.length).toBe(16);
    expect(ipv4ToBytes('::1')).toBeUndefined();
    expect(ipv6ToBytes('192.0.2.1')).toBeUndefined();
  });

  it('returns undefined, never throws, for anything that is not an IP literal', () => {
    const bad = ['', 'localhost', 'abc.local', '[::1]', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '::g', '1.2.3', '256.1.1.1', '01.2.3.4', '::ffff:1.2.3.256', ' ::1', '::1 ', '1.2.3.4:80', 'fe80::1%'];
    for (const s of bad) {
      expect(() => ipToBytes(s), s).not.toThrow();
      expect(ipToBytes(s), s).toBeUndefined();
    }
  });
});

describe('ip: bytes to text (RFC 5952)', () => {
  it('writes the canonical form: lower case, longest zero run compressed, first of equal runs, no single-group ::', () => {
    expect(bytesToIp(hex('20010db8000000000001000000000001'))).toBe('2001:db8::1:0:0:1');
    expect(bytesToIp(hex('00010000000000020000000000000003'))).toBe('1:0:0:2::3');
    expect(bytesToIp(hex('20010db8000000010001000100010001'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(bytesToIp(hex('0'.repeat(32)))).toBe('::');
    expect(bytesToIp(hex('00000000000000000000ffff01020304'))).toBe('::ffff:1.2.3.4');
    expect(bytesToIp(hex('c0000201'))).toBe('192.0.2.1');
  });

  it('round-trips, and refuses other lengths', () => {
    for (const a of ['::', '::1', '1::', 'fd00::2', '2001:db8::1:0:0:1', '::ffff:127.0.0.1', '2001:db8:1234:5678:11:2233:4455:6677', '10.0.0.1']) {
      expect(bytesToIp(ipToBytes(a)!)).toBe(a);
    }
    expect(ipv6Groups(ipv6ToBytes('::ffff:1.2.3.4')!)).toBe('0:0:0:0:0:ffff:102:304');
    expect(bytesToIp(Buffer.alloc(5))).toBeUndefined();
    expect(bytesToIp(Buffer.alloc(0))).toBeUndefined();
    // A view into a larger buffer reads only its own 16 bytes.
    const big = Buffer.concat([Buffer.from([0xaa]), ipv6ToBytes('::1')!, Buffer.from([0xbb])]);
    expect(bytesToIp(big.subarray(1, 17))).toBe('::1');
  });

  it('canonicalIp rewrites IPv6 only; names and IPv4 pass unchanged', () => {
    expect(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalIp('abc.local')).toBe('abc.local');
    expect(isV4Mapped(ipv6ToBytes('::ffff:1.2.3.4')!)).toBe(true);
    expect(isV4Mapped(ipv6ToBytes('::1.2.3.4')!)).toBe(false);
    expect(isV4Mapped(ipv4ToBytes('1.2.3.4')!)).toBe(false);
  });
});

describe('the STUN codec reads addresses through it', () => {
  it('decodes the RFC 5769 §2.2 and §2.3 XOR-MAPPED-ADDRESS vectors to the exact text', () => {
    expect(mappedAddressOf(decodeStunMessage(RFC5769_IPV4_RESPONSE)!)).toEqual({ address: '192.0.2.1', port: 32853 });
    expect(mappedAddressOf(decodeStunMessage(RFC5769_IPV6_RESPONSE)!)).toEqual({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
  });

  it('XOR-MAPPED-ADDRESS round-trips edge addresses in canonical form (werift compresses the first zero run, not the longest)', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['2001:DB8::1', '2001:db8::1'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['fe80::1', 'fe80::1'],
    ];
    for (const [sent, read] of cases) {
      const wire = encodeStunMessage(createStunMessage({ attributes: [['XOR-MAPPED-ADDRESS', [sent, 3478]]] }));
      expect(mappedAddressOf(decodeStunMessage(wire)!), sent).toEqual({ address: read, port: 3478 });
    }
  });

  it('the RFC 3489 encoder writes the same bytes as the RFC 5769 vectors carry (un-XORed)', () => {
    // §2.3: XOR-MAPPED-ADDRESS value 0002 a147 0113a9fa... XOR cookie+transaction id = family 2, port 32853, address.
    expect(encodeAddressValue({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 })!.toString('hex')).toBe('000280552001' + '0db8123456780011223344556677');
    expect(encodeAddressValue({ address: '192.0.2.1', port: 32853 })!.toString('hex')).toBe('00018055c0000201');
    expect(encodeAddressValue({ address: '::ffff:1.2.3.4', port: 1 })!.toString('hex')).toBe('00020001' + '00000000000000000000ffff01020304');
    expect(encodeAddressValue({ address: 'stun.example', port: 1 })).toBeUndefined();
  });
});

describe('and so do the endpoint helpers and the signaling checks', () => {
  it('normalizeAddress: mapped → IPv4, IPv6 → RFC 5952 with its zone id kept, names lower-cased', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(normalizeAddress('2001:0db8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeAddress('FE80::1%eth0')).toBe('fe80::1%eth0');
    expect(normalizeAddress('Host.Example')).toBe('host.example');
    expect(sameEndpoint({ address: '2001:db8:0:0:0:0:0:1', port: 1 }, { address: '2001:DB8::1', port: 1 })).toBe(true);
    expect(sameEndpoint({ address: '::ffff:10.0.0.1', port: 1 }, { address: '10.0.0.1', port: 1 })).toBe(true);
    expect(sameEndpoint({ address: '10.0.0.1', port: 1 }, { address: '10.0.0.1', port: 2 })).toBe(false);
  });

  it('formatEndpoint brackets IPv6 literals only', () => {
    expect(formatEndpoint({ address: '1.2.3.4', port: 5 })).toBe('1.2.3.4:5');
    expect(formatEndpoint({ address: '::1', port: 5 })).toBe('[::1]:5');
    expect(formatEndpoint({ address: 'fe80::1%eth0', port: 5 })).toBe('[fe80::1%eth0]:5');
    expect(formatEndpoint({ address: 'abc-123.local', port: 5 })).toBe('abc-123.local:5');
  });

  it('addressKey and isLoopbackHost', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::9%eth0')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('garbage')).toBe('garbage');
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('0:0:0:0:0:0:0:1')).toBe(true);
    expect(isLoopbackHost('::ffff:127.1.2.3')).toBe(true);
    expect(isLoopbackHost('::ffff:10.0.0.1')).toBe(false);
    expect(isLoopbackHost('::2')).toBe(false);
    expect(isLoopbackHost('[::1')).toBe(false);
  });
});
