/**
 * A TURN client (RFC 8656, formerly RFC 5766) whose every step can explain its failure: Allocate with the long-term
 * credential challenge (RFC 8489 §9.2), stale-nonce retry, Refresh, CreatePermission, ChannelBind, Send/Data
 * indications and ChannelData. It runs over any TurnTransport (UDP, TCP, TLS: see transport.ts).
 *
 * Errors are protocol errors (src/stun/errors.ts): ErrorResponseError with the server's ERROR-CODE (and the peer a
 * permission was for), BadMessageError for a success response missing what it must carry, and whatever the transport
 * throws. The caller maps them to words (src/diagnostics/protocol-errors.ts). The password never leaves this module
 * except inside the MD5 key.
 */
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../stun/endpoint.js';
import { BadMessageError, ErrorResponseError, InvalidOptionError } from '../stun/errors.js';
import { longTermKey } from '../stun/integrity.js';
import {
  addressAttr,
  createStunMessage,
  decodeStunMessage,
  encodeStunMessage,
  errorCodeOf,
  isErrorResponse,
  methodName,
  stringAttr,
  StunClass,
  StunMethod,
  type StunAttribute,
  type StunMessage,
} from '../stun/message.js';
import { isChannelData, type TurnTransport } from './transport.js';

/** RFC 8656 §14.7: REQUESTED-TRANSPORT carries the IP protocol number in its first byte; 17 = UDP. */
const REQUESTED_TRANSPORT_UDP = 17 << 24;
/** RFC 6156 §4.1.1: REQUESTED-ADDRESS-FAMILY, family in the first byte (0x01 IPv4, 0x02 IPv6). */
const FAMILY_IPV4 = 0x01 << 24;
const FAMILY_IPV6 = 0x02 << 24;

export interface TurnClientOptions {
  transport: TurnTransport;
  username: string;
  password: string;
  /** Per request. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface AllocateResult {
  relayed: Endpoint;
  /** Our address as the server sees it (XOR-MAPPED-ADDRESS, RFC 8656 §7.3). */
  mapped?: Endpoint;
  lifetimeSeconds: number;
  realm: string;
  /** How many 438 Stale Nonce answers were retried. */
  staleNonceRetries: number;
  ms: number;
}

export interface IncomingData {
  /** The peer the data came from (Data indication XOR-PEER-ADDRESS, or the peer bound to the channel). */
  peer?: Endpoint;
  channel?: number;
  data: Buffer;
}

/** Channel numbers are 0x4000-0x4FFF (RFC 8656 §12). */
export const MIN_CHANNEL = 0x4000;
export const MAX_CHANNEL = 0x4fff;

export class TurnClient {
  readonly transport: TurnTransport;
  private readonly username: string;
  private readonly password: string;
  private readonly timeoutMs: number;
  private readonly signal?: AbortSignal;
  private realm?: string;
  /** Kept as the bytes received: werift packs NONCE as bytes, and it is opaque to us (RFC 8489 §14.10). */
  private nonce?: Buffer;
  private key?: Buffer;
  private readonly channels = new Map<number, Endpoint>();
  relayed?: Endpoint;
  mapped?: Endpoint;
  /** 438 Stale Nonce answers retried so far, over all requests (RFC 8489 §9.2.5). */
  staleNonceRetries = 0;
  /** Every Data indication and ChannelData message the server relays to us. */
  onData: (d: IncomingData) => void = () => {};
  /** Messages ignored on the way in (for --verbose). */
  onIgnored: (why: string) => void = () => {};

  constructor(opts: TurnClientOptions) {
    this.transport = opts.transport;
    this.username = opts.username;
    this.password = opts.password;
    this.timeoutMs = opts.timeoutMs;
    this.signal = opts.signal;
    this.transport.onIncoming = (data) => this.incoming(data);
  }

  /** The realm of the last challenge (for error messages). */
  get currentRealm(): string | undefined {
    return this.realm;
  }

  private incoming(data: Buffer): void {
    if (isChannelData(data)) {
      const channel = data.readUInt16BE(0);
      const len = data.readUInt16BE(2);
      if (4 + len > data.length) {
        this.onIgnored('truncated ChannelData message');
        return;
      }
      this.onData({ channel, peer: this.channels.get(channel), data: data.subarray(4, 4 + len) });
      return;
    }
    const msg = decodeStunMessage(data);
    if (!msg || msg.messageClass !== StunClass.INDICATION || msg.messageMethod !== StunMethod.DATA) {
      this.onIgnored('unexpected STUN indication');
      return;
    }
    const peer = addressAttr(msg, 'XOR-PEER-ADDRESS');
    const payload = msg.getAttributeValue('DATA') as unknown;
    if (!peer || !Buffer.isBuffer(payload)) {
      // RFC 8656 §11.6: a Data indication without XOR-PEER-ADDRESS or DATA is discarded.
      this.onIgnored('Data indication without XOR-PEER-ADDRESS or DATA');
      return;
    }
    this.onData({ peer, data: payload });
  }

  private async send(method: StunMethod, attributes: StunAttribute[], authenticated: boolean): Promise<StunMessage> {
    const attrs: StunAttribute[] = [...attributes];
    if (authenticated && this.key) {
      attrs.push(['USERNAME', this.username], ['REALM', this.realm], ['NONCE', this.nonce]);
    }
    const msg = createStunMessage({ method, attributes: attrs, transactionId: randomBytes(12) });
    const r = await this.transport.request(msg, {
      integrityKey: authenticated ? this.key : undefined,
      timeoutMs: this.timeoutMs,
      signal: this.signal,
    });
    return r.response;
  }

  private errorFrom(res: StunMessage, peer?: Endpoint): ErrorResponseError {
    const err = errorCodeOf(res) ?? { code: 0, reason: 'no ERROR-CODE' };
    return new ErrorResponseError(methodName(res.messageMethod), err.code, err.reason, this.transport.server, peer);
  }

  /**
   * An authenticated request (RFC 8489 §9.2.3): on 438 Stale Nonce take the new NONCE (and REALM) and retry, at most
   * twice. Returns the success response and how many stale-nonce retries it took; error responses throw
   * ErrorResponseError.
   */
  private async authed(method: StunMethod, attributes: StunAttribute[], peer?: Endpoint): Promise<{ res: StunMessage; stale: number }> {
    let stale = 0;
    for (;;) {
      const res = await this.send(method, attributes, true);
      if (!isErrorResponse(res)) return { res, stale };
      if (errorCodeOf(res)?.code === 438 && stale < 2) {
        stale += 1;
        this.staleNonceRetries += 1;
        this.takeChallenge(res);
        continue;
      }
      throw this.errorFrom(res, peer);
    }
  }

  private takeChallenge(res: StunMessage): boolean {
    const realm = stringAttr(res, 'REALM') ?? this.realm;
    const nonceValue = res.getAttributeValue('NONCE') as unknown;
    const nonce = Buffer.isBuffer(nonceValue) ? nonceValue : typeof nonceValue === 'string' ? Buffer.from(nonceValue, 'utf8') : undefined;
    if (realm === undefined || nonce === undefined) return false;
    if (realm !== this.realm || !this.key) this.key = longTermKey(this.username, realm, this.password);
    this.realm = realm;
    this.nonce = nonce;
    return true;
  }

  /**
   * Allocate (RFC 8656 §7.1-7.3): the first request goes without credentials; the server answers 401 with REALM and
   * NONCE (RFC 8489 §9.2.3.1), and the second one carries USERNAME, REALM, NONCE and MESSAGE-INTEGRITY with the
   * long-term key MD5(username:realm:password). A 401 to that second request means the credentials are wrong.
   */
  async allocate(opts: { lifetimeSeconds?: number; family?: 4 | 6 } = {}): Promise<AllocateResult> {
    const t0 = performance.now();
    const attrs: StunAttribute[] = [['REQUESTED-TRANSPORT', REQUESTED_TRANSPORT_UDP]];
    if (opts.family !== undefined) attrs.push(['REQUESTED-ADDRESS-FAMILY', opts.family === 6 ? FAMILY_IPV6 : FAMILY_IPV4]);
    if (opts.lifetimeSeconds !== undefined) attrs.push(['LIFETIME', opts.lifetimeSeconds]);
    let res = await this.send(StunMethod.ALLOCATE, attrs, false);
    let stale = 0;
    if (isErrorResponse(res)) {
      if (errorCodeOf(res)?.code !== 401) throw this.errorFrom(res);
      if (!this.takeChallenge(res)) {
        throw new BadMessageError('the server answered 401 without REALM and NONCE: it does not use long-term credentials (RFC 8489 §9.2)', this.transport.server);
      }
      try {
        const r = await this.authed(StunMethod.ALLOCATE, attrs);
        res = r.res;
        stale = r.stale;
      } catch (e) {
        // RFC 6156 §4.2: without REQUESTED-ADDRESS-FAMILY the server allocates IPv4; 440 means it has no IPv4 relay
        // address (an IPv6-only deployment). Ask once for an IPv6 relay instead.
        if (!(e instanceof ErrorResponseError) || e.code !== 440 || opts.family !== undefined) throw e;
        const r = await this.authed(StunMethod.ALLOCATE, [...attrs, ['REQUESTED-ADDRESS-FAMILY', FAMILY_IPV6]]);
        res = r.res;
        stale = r.stale;
      }
    }
    const relayed = addressAttr(res, 'XOR-RELAYED-ADDRESS');
    if (!relayed) throw new BadMessageError('the server accepted the Allocate but sent no XOR-RELAYED-ADDRESS', this.transport.server);
    this.relayed = relayed;
    this.mapped = addressAttr(res, 'XOR-MAPPED-ADDRESS');
    const lifetime = res.getAttributeValue('LIFETIME') as unknown;
    return {
      relayed,
      mapped: this.mapped,
      lifetimeSeconds: typeof lifetime === 'number' ? lifetime : 0,
      realm: this.realm ?? '',
      staleNonceRetries: stale,
      ms: performance.now() - t0,
    };
  }

  /** Refresh (RFC 8656 §8): extend the allocation; lifetime 0 deletes it. Returns the lifetime granted. */
  async refresh(lifetimeSeconds = 600): Promise<number> {
    const { res } = await this.authed(StunMethod.REFRESH, [['LIFETIME', lifetimeSeconds]]);
    const lifetime = res.getAttributeValue('LIFETIME') as unknown;
    return typeof lifetime === 'number' ? lifetime : lifetimeSeconds;
  }

  /** CreatePermission (RFC 8656 §9): let these peers' packets in (permissions are per IP address, ports ignored). */
  async createPermission(peers: Endpoint[]): Promise<void> {
    await this.authed(
      StunMethod.CREATE_PERMISSION,
      peers.map((p) => ['XOR-PEER-ADDRESS', [p.address, p.port]] as StunAttribute),
      peers[0],
    );
  }

  /** ChannelBind (RFC 8656 §12.1): relay to/from `peer` as ChannelData on `channel` (also installs a permission). */
  async channelBind(peer: Endpoint, channel: number): Promise<void> {
    if (channel < MIN_CHANNEL || channel > MAX_CHANNEL) throw new InvalidOptionError('channel', `channel number 0x${channel.toString(16)} out of range`);
    await this.authed(
      StunMethod.CHANNEL_BIND,
      [
        ['CHANNEL-NUMBER', channel],
        ['XOR-PEER-ADDRESS', [peer.address, peer.port]],
      ],
      peer,
    );
    this.channels.set(channel, peer);
  }

  /** Send indication (RFC 8656 §11.1): data to `peer` through the relay (needs a permission). */
  sendIndication(peer: Endpoint, data: Buffer): void {
    const msg = createStunMessage({
      method: StunMethod.SEND,
      cls: StunClass.INDICATION,
      attributes: [
        ['XOR-PEER-ADDRESS', [peer.address, peer.port]],
        ['DATA', data],
      ],
    });
    // Indications are not authenticated (RFC 8656 §11: they cannot be, there is no response to carry a nonce).
    this.transport.sendRaw(encodeStunMessage(msg, { fingerprint: false }));
  }

  /** ChannelData (RFC 8656 §12.4): 4-byte header + data (the stream transport pads it to 4 bytes). */
  sendChannelData(channel: number, data: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(channel, 0);
    header.writeUInt16BE(data.length, 2);
    this.transport.sendRaw(Buffer.concat([header, data]));
  }

  /** Delete the allocation (Refresh with LIFETIME 0, RFC 8656 §8) — best effort, short wait — and close. */
  async close(): Promise<void> {
    if (this.relayed && !this.transport.failure) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.refresh(0), new Promise((r) => (timer = setTimeout(r, Math.min(this.timeoutMs, 500))))]);
      } catch {
        /* the allocation expires on its own */
      } finally {
        clearTimeout(timer);
      }
    }
    this.transport.close();
  }
}
