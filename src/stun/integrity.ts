/**
 * Credentials for STUN messages: SASLprep, the long-term and short-term keys (RFC 8489 §9.1/9.2, RFC 5389 §15.4), and
 * a byte-exact MESSAGE-INTEGRITY check over the message as received (werift's own check re-encodes the message).
 */
import { createHash, createHmac } from 'node:crypto';
import { HEADER_LENGTH } from './message.js';

/**
 * SASLprep (RFC 4013) as far as passwords need it: RFC 3454 table B.1 characters are removed, non-ASCII spaces
 * (table C.1.2) become U+0020, then NFKC. Prohibited-character and bidi checks are left out: a password that would
 * fail them simply does not authenticate.
 */
export function saslprep(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (MAPPED_TO_NOTHING.some(([lo, hi]) => c >= lo && c <= hi)) continue;
    out += NON_ASCII_SPACE.some(([lo, hi]) => c >= lo && c <= hi) ? ' ' : ch;
  }
  return out.normalize('NFKC');
}

/** RFC 3454 table B.1 (ranges, inclusive). */
const MAPPED_TO_NOTHING: Array<[number, number]> = [
  [0xad, 0xad], [0x34f, 0x34f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d], [0x2060, 0x2060], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];
/** RFC 3454 table C.1.2 (ranges, inclusive). */
const NON_ASCII_SPACE: Array<[number, number]> = [
  [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];

/** RFC 5389 §15.4 long-term credential key: MD5(username ":" realm ":" SASLprep(password)). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${saslprep(password)}`, 'utf8').digest();
}

/** RFC 5389 §15.4 short-term credential key: SASLprep(password). */
export function shortTermKey(password: string): Buffer {
  return Buffer.from(saslprep(password), 'utf8');
}

/**
 * Check MESSAGE-INTEGRITY over the bytes as received (RFC 5389 §15.4): HMAC-SHA1 over the message up to the
 * attribute, with the header length field set as if MESSAGE-INTEGRITY were the last attribute. Returns "absent",
 * "valid" or "invalid". Never throws on malformed input (it returns "invalid").
 */
export function checkMessageIntegrity(data: Buffer, key: Buffer): 'absent' | 'valid' | 'invalid' {
  if (data.length < HEADER_LENGTH) return 'invalid';
  let pos = HEADER_LENGTH;
  while (pos + 4 <= data.length) {
    const type = data.readUInt16BE(pos);
    const len = data.readUInt16BE(pos + 2);
    if (type === 0x0008) {
      if (len !== 20 || pos + 24 > data.length) return 'invalid';
      const prefix = Buffer.from(data.subarray(0, pos));
      prefix.writeUInt16BE(pos + 24 - HEADER_LENGTH, 2);
      const mac = createHmac('sha1', key).update(prefix).digest();
      return mac.equals(data.subarray(pos + 4, pos + 24)) ? 'valid' : 'invalid';
    }
    pos += 4 + len + ((4 - (len % 4)) % 4);
  }
  return 'absent';
}

