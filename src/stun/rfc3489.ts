/**
 * RFC 3489 ("classic STUN") as a server needs it: werift's parser only accepts RFC 5389 messages (magic cookie
 * present) and always writes the cookie, which would overwrite the first four bytes of a 16-byte RFC 3489
 * transaction id. So requests are parsed, and responses encoded, here.
 */
import { ipToBytes } from '../net/ip.js';
import type { Endpoint } from './endpoint.js';
import { HEADER_LENGTH } from './message.js';

/** A request from an RFC 3489 client (no magic cookie: the transaction id is the 16 bytes after the length). */
export interface LegacyRequest {
  type: number;
  /** All 16 bytes (RFC 3489 §11.1). */
  transactionId: Buffer;
  changeRequest: number;
  /** RFC 3489 RESPONSE-ADDRESS (0x0002) is deliberately ignored: it makes a server a reflector (RFC 5389 §19). */
}

/**
 * Parse an RFC 3489 binding request (RFC 3489 §11.1), which werift's parser rejects for lack of the magic cookie.
 * Only what a server needs: the type, the 16-byte transaction id and CHANGE-REQUEST. Undefined when malformed.
 */
export function parseLegacyRequest(data: Buffer): LegacyRequest | undefined {
  if (data.length < HEADER_LENGTH || (data[0]! & 0xc0) !== 0) return undefined;
  const length = data.readUInt16BE(2);
  if (length % 4 !== 0 || data.length !== HEADER_LENGTH + length) return undefined;
  let changeRequest = 0;
  let pos = HEADER_LENGTH;
  while (pos < data.length) {
    if (pos + 4 > data.length) return undefined;
    const type = data.readUInt16BE(pos);
    const len = data.readUInt16BE(pos + 2);
    const end = pos + 4 + len;
    // RFC 3489 attributes are all multiples of 4 long; tolerate RFC 5389 padding anyway.
    const next = end + ((4 - (len % 4)) % 4);
    if (next > data.length) return undefined;
    if (type === 0x0003) {
      if (len !== 4) return undefined;
      changeRequest = data.readUInt32BE(pos + 4);
    }
    pos = next;
  }
  return { type: data.readUInt16BE(0), transactionId: Buffer.from(data.subarray(4, 20)), changeRequest };
}

/**
 * Encode an address attribute value (RFC 3489 §11.2.1 / RFC 5389 §15.1 layout: 0, family, port, 4 or 16 address
 * bytes). Undefined when the address is not an IP literal.
 */
export function encodeAddressValue(ep: Endpoint): Buffer | undefined {
  const ip = ipToBytes(ep.address);
  if (!ip) return undefined;
  const head = Buffer.alloc(4);
  head.writeUInt8(ip.length === 16 ? 2 : 1, 1);
  head.writeUInt16BE(ep.port, 2);
  return Buffer.concat([head, ip]);
}

/**
 * Encode an RFC 3489 binding response by hand (werift always writes the magic cookie, which would overwrite the
 * first four bytes of a 16-byte RFC 3489 transaction id). Attributes: MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS.
 */
export function encodeLegacyResponse(transactionId: Buffer, attrs: Array<[number, Buffer]>): Buffer {
  const body = Buffer.concat(
    attrs.map(([type, value]) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(type, 0);
      h.writeUInt16BE(value.length, 2);
      return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    }),
  );
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0x0101, 0);
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, transactionId, body]);
}

