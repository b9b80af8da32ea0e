/**
 * A small typed face over werift's STUN codec (RFC 5389/8489). What werift does not do for us lives beside it:
 * byte-exact MESSAGE-INTEGRITY checks (integrity.ts) and RFC 3489 ("classic STUN") messages (rfc3489.ts).
 *
 * Why werift and not the npm `stun` package: werift's parser bounds-checks every attribute and returns `undefined`
 * for malformed input instead of throwing, checks FINGERPRINT over the bytes actually received (the `stun` package
 * re-encodes the decoded message, so padding or unknown attributes change the result), and knows the RFC 5780
 * (CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS) and RFC 3489 (CHANGED-ADDRESS, SOURCE-ADDRESS) attributes.
 * Traps we avoid here: werift appends raw (unknown) attributes after FINGERPRINT, so we never send raw attributes;
 * its parser only accepts RFC 5389 messages (magic cookie present), so RFC 3489 requests are parsed by
 * parseLegacyRequest (rfc3489.ts).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Message, classes, methods } from 'werift';
import { canonicalIp } from '../net/ip.js';
import type { Endpoint } from './endpoint.js';

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
// Stryker disable all: both paths load the same werift codec (the package entry re-exports these files), so a mutant
// that breaks the direct path only falls back to the slower one: start-up time, which no unit test observes.
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
// Stryker restore all

const codec = loadCodec();

/** STUN methods (RFC 5389 §18.1, RFC 5766 §13): BINDING, ALLOCATE, REFRESH, ... */
export const StunMethod = codec.methods;
export type StunMethod = methods;
/** STUN message classes (RFC 5389 §6): REQUEST, INDICATION, RESPONSE, ERROR. */
export const StunClass = codec.classes;
export type StunClass = classes;

/** "BINDING", "ALLOCATE", "CREATE-PERMISSION", ... (hex for a method werift does not know). */
export function methodName(method: number): string {
  const name = (StunMethod as unknown as Record<number, string | undefined>)[method];
  return name ? name.replace(/_/g, '-') : `0x${method.toString(16).padStart(3, '0')}`;
}

/** RFC 5389 §6: the magic cookie in bytes 4..7 of every RFC 5389 message. */
export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

/** RFC 5780 §7.2 CHANGE-REQUEST flags (same values as RFC 3489 §11.2.4). */
export const CHANGE_IP = 0x04;
export const CHANGE_PORT = 0x02;

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
  // werift renders the address bytes itself, compressing the first run of zero groups rather than the longest;
  // rewrite them in the RFC 5952 form Node uses for socket addresses, so the two compare as text.
  return { address: canonicalIp(v[0]), port: v[1] };
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

