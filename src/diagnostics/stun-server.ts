/**
 * An embedded STUN server, so a LAN or a test needs no outside server.
 *
 * - RFC 5389 Binding: XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS for old clients), SOFTWARE, FINGERPRINT.
 * - RFC 5780 when a second address AND a second port are configured: four sockets (host|altHost × port|altPort);
 *   OTHER-ADDRESS (the socket differing in both address and port from the one that received the request, §7.4),
 *   RESPONSE-ORIGIN (§7.3), CHANGE-REQUEST answered from the socket it asks for (§6.1), RESPONSE-PORT (§7.5).
 *   Without them, a CHANGE-REQUEST gets 420 Unknown Attribute (RFC 5780 §6.1), so clients do not misread a reply
 *   from the primary address as "endpoint-independent filtering".
 * - RFC 3489 clients (no magic cookie, 16-byte transaction id; e.g. Debian's `stun`): MAPPED-ADDRESS, SOURCE-ADDRESS
 *   and CHANGED-ADDRESS (RFC 3489 §11.2), CHANGE-REQUEST honoured. RESPONSE-ADDRESS is ignored on purpose: it would
 *   make the server reflect traffic at third parties (RFC 5389 §19).
 * Every datagram is handled inside a try/catch: malformed input is dropped, never fatal.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { RtcError } from '../errors.js';
import {
  CHANGE_IP,
  CHANGE_PORT,
  createStunMessage,
  decodeStunMessage,
  encodeAddressValue,
  encodeLegacyResponse,
  encodeStunMessage,
  looksLikeStun,
  MAGIC_COOKIE,
  normalizeAddress,
  parseLegacyRequest,
  StunClass,
  StunMethod,
  type Endpoint,
  type StunAttribute,
  type StunMessage,
} from './stun-message.js';

export interface StunServerOptions {
  /** Address to listen on (default 0.0.0.0). Must be a specific address when altHost is given. */
  host?: string;
  /** UDP port (default 3478; 0 picks a free one). */
  port?: number;
  /** A second local address of this machine: with altPort, enables RFC 5780 mode. */
  altHost?: string;
  /** A second port (0 picks a free one): with altHost, enables RFC 5780 mode. */
  altPort?: number;
  /** SOFTWARE attribute (default "rtc-cli"). */
  software?: string;
}

export interface StunServerAddresses {
  /** Where clients should send their requests. */
  primary: Endpoint;
  /** The RFC 5780 alternate address (different address and port), when configured. */
  other?: Endpoint;
  /** Every socket the server listens on. */
  all: Endpoint[];
  rfc5780: boolean;
}

export interface StunServerHandle {
  addresses: StunServerAddresses;
  /** Counters, for tests and `serve` logs. */
  stats: { requests: number; responses: number; dropped: number };
  close(): Promise<void>;
}

const ATTR_RESPONSE_PORT = 0x0027;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_SOURCE_ADDRESS = 0x0004;
const ATTR_CHANGED_ADDRESS = 0x0005;

async function bindSocket(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    socket.close();
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    if (code === 'EADDRNOTAVAIL') {
      throw new RtcError('RTC_ERR_BAD_ADDRESS', `STUN server: ${host} is not an address of this machine`, { cause: e });
    }
    throw new RtcError('RTC_ERR_LISTEN', `STUN server: cannot listen on UDP ${host}:${port} (${code})`, {
      hint: code === 'EADDRINUSE' ? 'another STUN/TURN server (coturn?) uses that port; pick another with --stun-port' : undefined,
      cause: e,
      details: { errno: code },
    });
  });
  // A socket error (e.g. ICMP feedback) must never take the server down.
  socket.on('error', () => {});
  return socket;
}

interface Slot {
  socket: dgram.Socket;
  ep: Endpoint;
  /** 0: (host, port), 1: (host, altPort), 2: (altHost, port), 3: (altHost, altPort): bit 1 = IP, bit 0 = port. */
  index: number;
}

/**
 * Bind the four RFC 5780 sockets. With port 0 the kernel picks the primary port and the alternate address must get
 * the same number; if that number is taken there, start over (a few times) with new ports.
 */
async function bindFour(host: string, port: number, altHost: string, altPort: number): Promise<dgram.Socket[]> {
  for (let attempt = 0; ; attempt++) {
    const opened: dgram.Socket[] = [];
    try {
      const a = await bindSocket(host, port);
      opened.push(a);
      const b = await bindSocket(host, altPort);
      opened.push(b);
      opened.push(await bindSocket(altHost, a.address().port));
      opened.push(await bindSocket(altHost, b.address().port));
      return opened;
    } catch (e) {
      for (const s of opened) s.close();
      const retryable = e instanceof RtcError && e.code === 'RTC_ERR_LISTEN' && (port === 0 || altPort === 0) && attempt < 5;
      if (!retryable) throw e;
    }
  }
}

export async function startStunServer(opts: StunServerOptions = {}): Promise<StunServerHandle> {
  const host = opts.host ?? '0.0.0.0';
  const port = opts.port ?? 3478;
  const software = opts.software ?? 'rtc-cli';
  if (isIP(host) === 0) throw new RtcError('RTC_ERR_BAD_ADDRESS', `STUN server host "${host}" is not an IP address`);
  const rfc5780 = opts.altHost !== undefined && opts.altPort !== undefined;
  if ((opts.altHost === undefined) !== (opts.altPort === undefined)) {
    throw new RtcError('RTC_ERR_USAGE', 'RFC 5780 mode needs both a second address and a second port', {
      hint: 'give both --stun-alt-host and --stun-alt-port, or neither',
    });
  }
  if (rfc5780) {
    if (isIP(opts.altHost!) === 0) throw new RtcError('RTC_ERR_BAD_ADDRESS', `STUN alternate host "${opts.altHost}" is not an IP address`);
    if (host === '0.0.0.0' || host === '::' || host === opts.altHost) {
      throw new RtcError('RTC_ERR_USAGE', 'RFC 5780 mode needs two distinct specific local addresses (not 0.0.0.0)', {
        hint: 'bind the primary to one specific address (rtc-cli serve --host <ip>) and give another as --stun-alt-host',
      });
    }
    if (port !== 0 && port === opts.altPort) throw new RtcError('RTC_ERR_USAGE', 'the STUN alternate port must differ from the primary port');
  }

  const sockets = rfc5780 ? await bindFour(host, port, opts.altHost!, opts.altPort!) : [await bindSocket(host, port)];
  const slots: Slot[] = sockets.map((socket, index) => ({
    socket,
    index,
    ep: { address: normalizeAddress(socket.address().address), port: socket.address().port },
  }));
  const stats = { requests: 0, responses: 0, dropped: 0 };

  const send = (slot: Slot, data: Buffer, to: Endpoint): void => {
    stats.responses += 1;
    slot.socket.send(data, to.port, to.address, () => {});
  };

  const handle = (slot: Slot, data: Buffer, rinfo: dgram.RemoteInfo): void => {
    const client: Endpoint = { address: normalizeAddress(rinfo.address), port: rinfo.port };
    if (!looksLikeStun(data)) {
      stats.dropped += 1;
      return;
    }
    stats.requests += 1;
    const cookie = data.readUInt32BE(4) === MAGIC_COOKIE;
    const msg = cookie ? decodeStunMessage(data) : undefined;
    if (cookie && msg) {
      handleModern(slot, msg, client);
      return;
    }
    if (cookie) {
      // RFC 5389 shaped but unparseable (bad FINGERPRINT, truncated attribute): drop (§7.3).
      stats.dropped += 1;
      return;
    }
    const legacy = parseLegacyRequest(data);
    if (!legacy || legacy.type !== 0x0001) {
      stats.dropped += 1;
      return;
    }
    // RFC 3489 §8.2: answer from the socket the CHANGE-REQUEST flags select.
    if (legacy.changeRequest & (CHANGE_IP | CHANGE_PORT) && !rfc5780) {
      stats.dropped += 1;
      return;
    }
    const out = pick(slot, legacy.changeRequest);
    const attrs: Array<[number, Buffer]> = [
      [ATTR_MAPPED_ADDRESS, encodeAddressValue(client)],
      [ATTR_SOURCE_ADDRESS, encodeAddressValue(out.ep)],
    ];
    if (rfc5780) attrs.push([ATTR_CHANGED_ADDRESS, encodeAddressValue(pick(slot, CHANGE_IP | CHANGE_PORT).ep)]);
    send(out, encodeLegacyResponse(legacy.transactionId, attrs), client);
  };

  /** The socket that differs from `slot` in address and/or port, as CHANGE-REQUEST flags say. */
  const pick = (slot: Slot, flags: number): Slot => {
    if (!rfc5780) return slot;
    let index = slot.index;
    if (flags & CHANGE_IP) index ^= 2;
    if (flags & CHANGE_PORT) index ^= 1;
    return slots[index]!;
  };

  const errorResponse = (slot: Slot, req: StunMessage, client: Endpoint, code: number, reason: string, unknown?: number[]): void => {
    const attributes: StunAttribute[] = [['ERROR-CODE', [code, reason]]];
    if (unknown?.length) attributes.push(['UNKNOWN-ATTRIBUTES', unknown]);
    attributes.push(['SOFTWARE', software]);
    const res = createStunMessage({ method: req.messageMethod, cls: StunClass.ERROR, transactionId: req.transactionId, attributes });
    send(slot, encodeStunMessage(res), client);
  };

  const handleModern = (slot: Slot, req: StunMessage, client: Endpoint): void => {
    if (req.messageClass !== StunClass.REQUEST) return; // indications and stray responses: nothing to answer (§7.3.2)
    if (req.messageMethod !== StunMethod.BINDING) {
      errorResponse(slot, req, client, 400, 'Bad Request: this server only answers Binding');
      return;
    }
    // RFC 5389 §7.3.1: unknown comprehension-required attributes (< 0x8000) → 420 listing them.
    const unknown = req.rawAttributes.map((a) => a.type).filter((t) => t < 0x8000 && t !== ATTR_RESPONSE_PORT);
    const change = Number(req.getAttributeValue('CHANGE-REQUEST') ?? 0);
    if (change & (CHANGE_IP | CHANGE_PORT) && !rfc5780) unknown.push(0x0003);
    if (unknown.length) {
      errorResponse(slot, req, client, 420, 'Unknown Attribute', unknown);
      return;
    }
    let to = client;
    const rp = req.rawAttributes.find((a) => a.type === ATTR_RESPONSE_PORT);
    if (rp) {
      // RFC 5780 §7.5: a 2-byte port and 2 bytes of padding.
      if (rp.value.length !== 4) {
        errorResponse(slot, req, client, 400, 'Bad Request: malformed RESPONSE-PORT');
        return;
      }
      to = { address: client.address, port: rp.value.readUInt16BE(0) };
      if (to.port === 0) {
        errorResponse(slot, req, client, 400, 'Bad Request: RESPONSE-PORT 0');
        return;
      }
    }
    const out = pick(slot, change);
    const attributes: StunAttribute[] = [
      ['XOR-MAPPED-ADDRESS', [client.address, client.port]],
      ['MAPPED-ADDRESS', [client.address, client.port]],
    ];
    if (rfc5780) {
      const other = pick(slot, CHANGE_IP | CHANGE_PORT).ep;
      attributes.push(['RESPONSE-ORIGIN', [out.ep.address, out.ep.port]], ['OTHER-ADDRESS', [other.address, other.port]]);
    }
    attributes.push(['SOFTWARE', software]);
    const res = createStunMessage({ method: StunMethod.BINDING, cls: StunClass.RESPONSE, transactionId: req.transactionId, attributes });
    send(out, encodeStunMessage(res), to);
  };

  for (const slot of slots) {
    slot.socket.on('message', (data, rinfo) => {
      try {
        handle(slot, data, rinfo);
      } catch {
        stats.dropped += 1;
      }
    });
  }

  let closed = false;
  return {
    addresses: {
      primary: slots[0]!.ep,
      other: rfc5780 ? slots[3]!.ep : undefined,
      all: slots.map((s) => s.ep),
      rfc5780,
    },
    stats,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(slots.map((s) => new Promise<void>((resolve) => s.socket.close(() => resolve()))));
    },
  };
}
