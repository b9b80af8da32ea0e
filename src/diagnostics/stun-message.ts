/**
 * A small typed face over werift's STUN codec (RFC 5389/8489), plus what werift does not do for us: byte-exact
 * MESSAGE-INTEGRITY checks for long-term credentials (RFC 5389 §15.4, §10.2) and RFC 3489 ("classic STUN") headers.
 *
 * Why werift and not the npm `stun` package: werift's parser bounds-checks every attribute and returns `undefined`
 * for malformed input instead of throwing, checks FINGERPRINT over the bytes actually received (the `stun` package
 * re-encodes the decoded message, so padding or unknown attributes change the result), and knows the RFC 5780
 * (CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS) and RFC 3489 (CHANGED-ADDRESS, SOURCE-ADDRESS) attributes.
 * Traps we avoid here: werift appends raw (unknown) attributes after FINGERPRINT, so we never send raw attributes;
 * its parser only accepts RFC 5389 messages (magic cookie present), so RFC 3489 requests are parsed by
 * parseLegacyRequest below.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Message, classes, methods } from 'werift';

interface StunCodec {
  Message: typeof Message;
  parseMessage: (data: Buffer, integrityKey?: Buffer) => Message | undefined;
  methods: typeof methods;
  classes: typeof classes;
}

/**
 * Load werift's STUN codec modules directly (~35 ms) rather than the whole package (~300-450 ms: the DTLS, SCTP, RTP
 * and media stacks), because nat-probe's wall time is mostly process start-up when every test is answered. The
 * files are werift's own CommonJS build (lib/ice-server/src/stun/*.js, the same code its package entry re-exports);
 * if a werift release moves them, fall back to the package entry.
 */
function loadCodec(): StunCodec {
  const require = createRequire(import.meta.url);
  try {
    const lib = resolve(dirname(require.resolve('werift')), '../..');
    const msg = require(join(lib, 'ice-server/src/stun/message.js')) as Partial<StunCodec>;
    const consts = require(join(lib, 'ice-server/src/stun/const.js')) as Partial<StunCodec>;
    if (typeof msg.Message === 'function' && typeof msg.parseMessage === 'function' && consts.methods && consts.classes) {
      return { Message: msg.Message, parseMessage: msg.parseMessage, methods: consts.methods, classes: consts.classes };
    }
  } catch {
    /* fall through to the package entry */
  }
  return require('werift') as StunCodec;
}

const codec = loadCodec();

/** STUN methods (RFC 5389 §18.1, RFC 5766 §13): BINDING, ALLOCATE, REFRESH, ... */
export const StunMethod = codec.methods;
export type StunMethod = methods;
/** STUN message classes (RFC 5389 §6): REQUEST, INDICATION, RESPONSE, ERROR. */
export const StunClass = codec.classes;
export type StunClass = classes;

/** RFC 5389 §6: the magic cookie in bytes 4..7 of every RFC 5389 message. */
export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

/** RFC 5780 §7.2 CHANGE-REQUEST flags (same values as RFC 3489 §11.2.4). */
export const CHANGE_IP = 0x04;
export const CHANGE_PORT = 0x02;

/** An IP address and port as a STUN attribute carries it. */
export interface Endpoint {
  address: string;
  port: number;
}

/** Attribute names werift knows (a subset we use is typed precisely by the helpers below). */
export type StunAttributeName =
  | 'MAPPED-ADDRESS'
  | 'XOR-MAPPED-ADDRESS'
  | 'CHANGE-REQUEST'
  | 'CHANGED-ADDRESS'
  | 'SOURCE-ADDRESS'
  | 'RESPONSE-ORIGIN'
  | 'OTHER-ADDRESS'
  | 'USERNAME'
  | 'REALM'
  | 'NONCE'
  | 'SOFTWARE'
  | 'ERROR-CODE'
  | 'UNKNOWN-ATTRIBUTES'
  | 'LIFETIME'
  | 'REQUESTED-TRANSPORT'
  | 'XOR-RELAYED-ADDRESS'
  | 'XOR-PEER-ADDRESS'
  | 'DATA'
  | 'CHANNEL-NUMBER'
  | 'MESSAGE-INTEGRITY'
  | 'FINGERPRINT'
  | 'PRIORITY'
  | 'USE-CANDIDATE'
  | 'ICE-CONTROLLED'
  | 'ICE-CONTROLLING'
  | 'REQUESTED-ADDRESS-FAMILY'
  | 'EVEN-PORT'
  | 'RESERVATION-TOKEN'
  | 'ALTERNATE-SERVER';

/** One attribute to put in an outgoing message. Address values are [ip, port] tuples, as werift takes them. */
export type StunAttribute = [StunAttributeName, unknown];

export type StunMessage = Message;

/** Build a request (or indication/response with `cls`). Attributes are written in the order given. */
export function createStunMessage(opts: {
  method?: StunMethod;
  cls?: StunClass;
  transactionId?: Buffer;
  attributes?: StunAttribute[];
}): Message {
  const msg = new codec.Message(opts.method ?? StunMethod.BINDING, opts.cls ?? StunClass.REQUEST, opts.transactionId ?? randomBytes(12));
  for (const [name, value] of opts.attributes ?? []) msg.setAttribute(name, value);
  return msg;
}

/**
 * Serialize, adding MESSAGE-INTEGRITY (when a key is given) and then FINGERPRINT, in the order RFC 5389 §15.4/§15.5
 * require (FINGERPRINT last, covering MESSAGE-INTEGRITY). The message object is modified.
 */
export function encodeStunMessage(msg: Message, opts: { integrityKey?: Buffer; fingerprint?: boolean } = {}): Buffer {
  // Encoding twice (a retry with a new NONCE, say) must not compute MESSAGE-INTEGRITY over the old MI/FINGERPRINT.
  const kept = msg.getAttributes().filter(([name]) => name !== 'MESSAGE-INTEGRITY' && name !== 'FINGERPRINT');
  if (kept.length !== msg.getAttributes().length) {
    msg.clear();
    for (const [name, value] of kept) msg.setAttribute(name, value);
  }
  if (opts.integrityKey) msg.addMessageIntegrity(opts.integrityKey);
  if (opts.fingerprint ?? true) msg.addFingerprint();
  return Buffer.from(msg.bytes);
}

/**
 * Parse an RFC 5389 message. Returns undefined for anything that is not a well-formed STUN message or whose
 * FINGERPRINT (when present) does not match the received bytes (RFC 5389 §15.5). Never throws.
 */
export function decodeStunMessage(data: Buffer): Message | undefined {
  try {
    return codec.parseMessage(data);
  } catch {
    return undefined;
  }
}

/** Whether a datagram starts like a STUN message (RFC 7983 §7 demultiplexing: first two bits zero, length ok). */
export function looksLikeStun(data: Buffer): boolean {
  return data.length >= HEADER_LENGTH && (data[0]! & 0xc0) === 0 && data.readUInt16BE(2) % 4 === 0 && data.length === HEADER_LENGTH + data.readUInt16BE(2);
}

function asEndpoint(v: unknown): Endpoint | undefined {
  if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'number') return undefined;
  return { address: v[0], port: v[1] };
}

/** An address attribute (MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, OTHER-ADDRESS, ...) as an Endpoint. */
export function addressAttr(msg: Message, name: StunAttributeName): Endpoint | undefined {
  return asEndpoint(msg.getAttributeValue(name));
}

/**
 * The reflexive transport address: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from servers that only send that
 * (RFC 5389 §15.1 keeps MAPPED-ADDRESS for RFC 3489 compatibility).
 */
export function mappedAddressOf(msg: Message): Endpoint | undefined {
  return addressAttr(msg, 'XOR-MAPPED-ADDRESS') ?? addressAttr(msg, 'MAPPED-ADDRESS');
}

/** ERROR-CODE (RFC 5389 §15.6) of an error response, if present. */
export function errorCodeOf(msg: Message): { code: number; reason: string } | undefined {
  const v = msg.getAttributeValue('ERROR-CODE') as unknown;
  if (!Array.isArray(v) || typeof v[0] !== 'number') return undefined;
  return { code: v[0], reason: typeof v[1] === 'string' ? v[1] : '' };
}

export function stringAttr(msg: Message, name: StunAttributeName): string | undefined {
  const v = msg.getAttributeValue(name) as unknown;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

export function isSuccessResponse(msg: Message): boolean {
  return msg.messageClass === StunClass.RESPONSE;
}

export function isErrorResponse(msg: Message): boolean {
  return msg.messageClass === StunClass.ERROR;
}

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

/** Encode an address attribute value (RFC 3489 §11.2.1 / RFC 5389 §15.1 layout). */
export function encodeAddressValue(ep: Endpoint): Buffer {
  const v6 = isIP(ep.address) === 6;
  const buf = Buffer.alloc(v6 ? 20 : 8);
  buf.writeUInt8(v6 ? 2 : 1, 1);
  buf.writeUInt16BE(ep.port, 2);
  if (v6) ipv6ToBuffer(ep.address).copy(buf, 4);
  else ep.address.split('.').forEach((o, i) => buf.writeUInt8(Number(o), 4 + i));
  return buf;
}

function ipv6ToBuffer(addr: string): Buffer {
  const out = Buffer.alloc(16);
  let text = addr;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return out;
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

/** Normalize an address as Node reports it: strip IPv4-mapped IPv6 (::ffff:a.b.c.d) and lower-case IPv6. */
export function normalizeAddress(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (m) return m[1]!;
  return addr.toLowerCase();
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && normalizeAddress(a.address) === normalizeAddress(b.address);
}

export function formatEndpoint(ep: Endpoint): string {
  return isIP(ep.address) === 6 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}
