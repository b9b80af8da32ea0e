/**
 * What the embedded STUN server answers, as a pure function of (datagram, source, receiving socket): no sockets here,
 * so every rule can be tested and fuzzed without the network (test/stun/message.fuzz.test.ts).
 *
 * - RFC 5389 Binding: XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS for old clients), SOFTWARE, FINGERPRINT.
 * - RFC 5780 when four sockets are configured (two addresses × two ports): OTHER-ADDRESS (the socket differing in both
 *   address and port from the one that received the request, §7.4), RESPONSE-ORIGIN (§7.3), CHANGE-REQUEST answered
 *   from the socket it asks for (§6.1), RESPONSE-PORT (§7.5). Without them a CHANGE-REQUEST gets 420 Unknown
 *   Attribute (RFC 5780 §6.1), so clients do not misread a reply from the primary address as "endpoint-independent
 *   filtering".
 * - RFC 3489 clients (no magic cookie, 16-byte transaction id; e.g. Debian's `stun`): MAPPED-ADDRESS, SOURCE-ADDRESS
 *   and CHANGED-ADDRESS (RFC 3489 §11.2), CHANGE-REQUEST honoured. RESPONSE-ADDRESS is ignored on purpose: it would
 *   make the server reflect traffic at third parties (RFC 5389 §19).
 * - No amplification (RFC 8489 §16.1.2): no answer is larger than the Binding success this server would send for the
 *   same request from the same source. Error responses are kept short (no SOFTWARE, the short reason phrase, as many
 *   UNKNOWN-ATTRIBUTES as fit) and are not sent at all if they still would not fit.
 */
import type { Endpoint } from './endpoint.js';
import { CHANGE_IP, CHANGE_PORT, createStunMessage, decodeStunMessage, encodeStunMessage, looksLikeStun, MAGIC_COOKIE, StunClass, StunMethod, type StunAttribute, type StunMessage } from './message.js';
import { encodeAddressValue, encodeLegacyResponse, parseLegacyRequest } from './rfc3489.js';

/** RFC 5780 §7.5 RESPONSE-PORT (werift does not know it). */
export const ATTR_RESPONSE_PORT = 0x0027;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_SOURCE_ADDRESS = 0x0004;
const ATTR_CHANGED_ADDRESS = 0x0005;

export interface ResponderConfig {
  /** The server's sockets: one (plain) or four in RFC 5780 order (host|altHost × port|altPort, see socketFor). */
  sockets: Endpoint[];
  /** SOFTWARE attribute of success responses. */
  software: string;
}

/** One datagram to send: from which socket (index into config.sockets), to where. */
export interface Reply {
  socket: number;
  to: Endpoint;
  data: Buffer;
}

export type Verdict =
  | { kind: 'reply'; reply: Reply; limit: number }
  | { kind: 'drop'; why: 'not-stun' | 'malformed' | 'not-a-request' | 'unsupported' | 'too-large' };

/**
 * The socket that differs from socket `index` in address and/or port, as CHANGE-REQUEST flags say: index bit 1 is
 * the address (host/altHost), bit 0 the port (port/altPort). Without RFC 5780 there is only one socket.
 */
export function socketFor(config: ResponderConfig, index: number, flags: number): number {
  if (config.sockets.length !== 4) return index;
  let i = index;
  if (flags & CHANGE_IP) i ^= 2;
  if (flags & CHANGE_PORT) i ^= 1;
  return i;
}

/** Decide the answer to one datagram received on socket `index` from `client`. Never throws on any input. */
export function respond(config: ResponderConfig, index: number, data: Buffer, client: Endpoint): Verdict {
  if (!looksLikeStun(data)) return { kind: 'drop', why: 'not-stun' };
  if (data.readUInt32BE(4) === MAGIC_COOKIE) {
    const msg = decodeStunMessage(data);
    // RFC 5389 shaped but unparseable (bad FINGERPRINT, truncated attribute): drop (§7.3).
    if (!msg) return { kind: 'drop', why: 'malformed' };
    return respondModern(config, index, msg, client);
  }
  return respondLegacy(config, index, data, client);
}

/** The RFC 3489 path: Binding requests only, CHANGE-REQUEST honoured in RFC 5780 mode. */
function respondLegacy(config: ResponderConfig, index: number, data: Buffer, client: Endpoint): Verdict {
  const legacy = parseLegacyRequest(data);
  if (!legacy || legacy.type !== 0x0001) return { kind: 'drop', why: 'malformed' };
  const rfc5780 = config.sockets.length === 4;
  if (legacy.changeRequest & (CHANGE_IP | CHANGE_PORT) && !rfc5780) return { kind: 'drop', why: 'unsupported' };
  const out = socketFor(config, index, legacy.changeRequest);
  const wanted: Array<[number, Endpoint]> = [
    [ATTR_MAPPED_ADDRESS, client],
    [ATTR_SOURCE_ADDRESS, config.sockets[out]!],
  ];
  if (rfc5780) wanted.push([ATTR_CHANGED_ADDRESS, config.sockets[socketFor(config, index, CHANGE_IP | CHANGE_PORT)]!]);
  const attrs: Array<[number, Buffer]> = [];
  for (const [type, ep] of wanted) {
    const value = encodeAddressValue(ep);
    // Sockets always report IP literals; anything else cannot be put in an address attribute.
    if (!value) return { kind: 'drop', why: 'unsupported' };
    attrs.push([type, value]);
  }
  const bytes = encodeLegacyResponse(legacy.transactionId, attrs);
  // A Binding success is its own size limit.
  return { kind: 'reply', reply: { socket: out, to: client, data: bytes }, limit: bytes.length };
}

/** The RFC 5389 path: Binding answered; any other request method gets a short 400 (if it fits). */
function respondModern(config: ResponderConfig, index: number, req: StunMessage, client: Endpoint): Verdict {
  if (req.messageClass !== StunClass.REQUEST) return { kind: 'drop', why: 'not-a-request' }; // indications, stray responses (§7.3.2)
  const limit = bindingSuccess(config, index, req, client, index).length;
  if (req.messageMethod !== StunMethod.BINDING) return errorVerdict(config, index, req, client, limit, 400, 'Bad Request');
  // RFC 5389 §7.3.1: unknown comprehension-required attributes (< 0x8000) → 420 listing them.
  const unknown = req.rawAttributes.map((a) => a.type).filter((t) => t < 0x8000 && t !== ATTR_RESPONSE_PORT);
  const change = Number(req.getAttributeValue('CHANGE-REQUEST') ?? 0);
  if (change & (CHANGE_IP | CHANGE_PORT) && config.sockets.length !== 4) unknown.push(0x0003);
  if (unknown.length) return errorVerdict(config, index, req, client, limit, 420, 'Unknown Attribute', unknown);
  const rp = req.rawAttributes.find((a) => a.type === ATTR_RESPONSE_PORT);
  let to = client;
  if (rp) {
    // RFC 5780 §7.5: a 2-byte port and 2 bytes of padding; never port 0.
    const port = rp.value.length === 4 ? rp.value.readUInt16BE(0) : 0;
    if (port === 0) return errorVerdict(config, index, req, client, limit, 400, 'Bad Request');
    to = { address: client.address, port };
  }
  const out = socketFor(config, index, change);
  return { kind: 'reply', reply: { socket: out, to, data: bindingSuccess(config, index, req, client, out) }, limit };
}

/** The Binding success response to `req` from `client`, sent from socket `out` (RFC 5389 §7.3.1, RFC 5780 §6). */
function bindingSuccess(config: ResponderConfig, index: number, req: StunMessage, client: Endpoint, out: number): Buffer {
  const attributes: StunAttribute[] = [
    ['XOR-MAPPED-ADDRESS', [client.address, client.port]],
    ['MAPPED-ADDRESS', [client.address, client.port]],
  ];
  if (config.sockets.length === 4) {
    const origin = config.sockets[out]!;
    const other = config.sockets[socketFor(config, index, CHANGE_IP | CHANGE_PORT)]!;
    attributes.push(['RESPONSE-ORIGIN', [origin.address, origin.port]], ['OTHER-ADDRESS', [other.address, other.port]]);
  }
  attributes.push(['SOFTWARE', config.software]);
  return encodeStunMessage(createStunMessage({ method: StunMethod.BINDING, cls: StunClass.RESPONSE, transactionId: req.transactionId, attributes }));
}

/**
 * An error response no larger than `limit`: ERROR-CODE with its reason phrase, then as many UNKNOWN-ATTRIBUTES as fit
 * (RFC 5389 §15.9 lets a server list a subset), FINGERPRINT. Dropped when even the bare error would not fit.
 */
function errorVerdict(config: ResponderConfig, index: number, req: StunMessage, client: Endpoint, limit: number, code: number, reason: string, unknown: number[] = []): Verdict {
  for (let n = unknown.length; n >= 0; n--) {
    const attributes: StunAttribute[] = [['ERROR-CODE', [code, reason]]];
    if (n > 0) attributes.push(['UNKNOWN-ATTRIBUTES', unknown.slice(0, n)]);
    const bytes = encodeStunMessage(createStunMessage({ method: req.messageMethod, cls: StunClass.ERROR, transactionId: req.transactionId, attributes }));
    // 420 must name at least one attribute to be useful; a 400 has none to name.
    if (bytes.length <= limit && (n > 0 || unknown.length === 0)) return { kind: 'reply', reply: { socket: index, to: client, data: bytes }, limit };
  }
  return { kind: 'drop', why: 'too-large' };
}

