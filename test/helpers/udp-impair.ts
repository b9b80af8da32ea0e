/**
 * A UDP relay on 127.0.0.1 that stands between two WebRTC peers and impairs their SCTP traffic: loss, reordering and
 * duplication, from a seeded generator (the same seed gives the same decisions for the same packet sequence).
 *
 * Each peer is told (by rewriting the candidates in its peer's SDP) that the other one lives at a relay port:
 *
 *   A ──▶ relay.forA ──(impair)──▶ B's real port      B ──▶ relay.forB ──(impair)──▶ A's real port
 *
 * Only DTLS application-data records (first byte 23, RFC 6347 §4.1: they carry SCTP) are impaired; STUN (ICE checks,
 * consent) and the DTLS handshake pass untouched, so the test exercises SCTP's recovery, not the handshake timers.
 * `dropHandshake` is the exception: it drops the first datagram that carries one chosen DTLS handshake message, to test
 * the handshake's own recovery (RFC 6347 §4.2.4).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';

export interface Impairment {
  /** Percentage of SCTP packets dropped, per direction. */
  lossPct: number;
  /** Percentage of SCTP packets held back and sent after the next one (a swap of neighbours). */
  reorderPct: number;
  /** Percentage of SCTP packets sent twice. */
  duplicatePct: number;
  seed: number;
  /**
   * Drop the first datagram carrying this DTLS handshake message from this side of the handshake (the client is the
   * side that sent the ClientHello). `type` is the HandshakeType (RFC 5246 §7.4: 1 ClientHello, 2 ServerHello, 3
   * HelloVerifyRequest, 11 Certificate, 12 ServerKeyExchange, 13 CertificateRequest, 14 ServerHelloDone, 15
   * CertificateVerify, 16 ClientKeyExchange, 20 Finished). Finished is the one handshake message sent encrypted
   * (epoch 1), so its type is not visible: a handshake record of epoch 1 counts as the Finished.
   */
  dropHandshake?: { type: number; from: 'client' | 'server' };
}

export interface DirectionCounters {
  packets: number;
  sctpPackets: number;
  dropped: number;
  reordered: number;
  duplicated: number;
  /** Datagrams dropped by `dropHandshake` (0 or 1). */
  handshakeDropped: number;
}

export interface ImpairingRelay {
  /** The port A must send to (advertised to A as B's candidate). */
  readonly portForA: number;
  /** The port B must send to (advertised to B as A's candidate). */
  readonly portForB: number;
  /** Learn a peer's real address from its own SDP (its one 127.0.0.1 host candidate). */
  setPeer(side: 'a' | 'b', port: number): void;
  readonly aToB: DirectionCounters;
  readonly bToA: DirectionCounters;
  close(): Promise<void>;
}

/** Mulberry32: small, seeded, good enough to pick packets. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DTLS_APPLICATION_DATA = 23;
const DTLS_HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const FINISHED = 20;

/** The handshake message types in one datagram's DTLS records (RFC 6347 §4.1: 13-byte record header, §4.2.2 body). */
function handshakeTypes(msg: Buffer): number[] {
  const types: number[] = [];
  // RFC 7983 §7: a first byte of 20–63 is DTLS (STUN starts with 0–3).
  if (msg[0]! < 20 || msg[0]! > 63) return types;
  for (let off = 0; off + 13 <= msg.length; off += 13 + msg.readUInt16BE(off + 11)) {
    if (msg[off] !== DTLS_HANDSHAKE) continue;
    const epoch = msg.readUInt16BE(off + 3);
    if (epoch > 0) types.push(FINISHED);
    else if (off + 13 < msg.length) types.push(msg[off + 13]!);
  }
  return types;
}

/** Which relay side is the DTLS client, learnt from its ClientHello, and whether the chosen message was dropped. */
interface HandshakeWatch {
  client?: Side;
  dropped: boolean;
}
type Side = 'a' | 'b';

class Direction {
  readonly counters: DirectionCounters = { packets: 0, sctpPackets: 0, dropped: 0, reordered: 0, duplicated: 0, handshakeDropped: 0 };
  private held: Buffer | undefined;
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Socket,
    private readonly target: () => number | undefined,
    private readonly impairment: Impairment,
    private readonly rand: () => number,
    private readonly from: Side,
    private readonly watch: HandshakeWatch,
  ) {}

  /** `dropHandshake`: is this the first datagram with the chosen message from the chosen side? */
  private dropAsHandshake(msg: Buffer): boolean {
    const rule = this.impairment.dropHandshake;
    if (!rule || this.watch.dropped || msg[0] === DTLS_APPLICATION_DATA) return false;
    const types = handshakeTypes(msg);
    if (types.includes(CLIENT_HELLO)) this.watch.client ??= this.from;
    if (this.watch.client === undefined || !types.includes(rule.type)) return false;
    const side: 'client' | 'server' = this.watch.client === this.from ? 'client' : 'server';
    if (side !== rule.from) return false;
    this.watch.dropped = true;
    this.counters.handshakeDropped++;
    return true;
  }

  private send(msg: Buffer): void {
    const port = this.target();
    if (port !== undefined) this.out.send(msg, port, '127.0.0.1');
  }

  handle(msg: Buffer): void {
    this.counters.packets++;
    if (this.dropAsHandshake(msg)) return;
    if (msg[0] !== DTLS_APPLICATION_DATA) {
      this.send(msg);
      return;
    }
    this.counters.sctpPackets++;
    const { lossPct, reorderPct, duplicatePct } = this.impairment;
    if (this.rand() * 100 < lossPct) {
      this.counters.dropped++;
      return;
    }
    if (!this.held && this.rand() * 100 < reorderPct) {
      // Hold this one until the next packet went out; a timer releases it if no packet follows.
      this.counters.reordered++;
      this.held = msg;
      this.heldTimer = setTimeout(() => this.release(), 20);
      return;
    }
    this.send(msg);
    if (this.rand() * 100 < duplicatePct) {
      this.counters.duplicated++;
      this.send(msg);
    }
    this.release();
  }

  private release(): void {
    clearTimeout(this.heldTimer);
    if (this.held) this.send(this.held);
    this.held = undefined;
  }

  stop(): void {
    clearTimeout(this.heldTimer);
  }
}

export async function startImpairingRelay(impairment: Impairment): Promise<ImpairingRelay> {
  // Large receive buffers: the relay must not add losses of its own (a full 1 MiB SCTP window can arrive at once).
  const forA = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 1 << 20 });
  const forB = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 1 << 20 });
  forA.bind(0, '127.0.0.1');
  forB.bind(0, '127.0.0.1');
  await Promise.all([once(forA, 'listening'), once(forB, 'listening')]);
  const ports: { a?: number; b?: number } = {};
  const rand = random(impairment.seed);
  const watch: HandshakeWatch = { dropped: false };
  // A's packets arrive at forA and leave from forB (so B sees them come from the address it was given for A).
  const aToB = new Direction(forB, () => ports.b, impairment, rand, 'a', watch);
  const bToA = new Direction(forA, () => ports.a, impairment, rand, 'b', watch);
  forA.on('message', (msg: Buffer, from: RemoteInfo) => {
    if (from.port === ports.a) aToB.handle(msg);
  });
  forB.on('message', (msg: Buffer, from: RemoteInfo) => {
    if (from.port === ports.b) bToA.handle(msg);
  });
  return {
    portForA: forA.address().port,
    portForB: forB.address().port,
    setPeer(side, port) {
      ports[side] = port;
    },
    aToB: aToB.counters,
    bToA: bToA.counters,
    async close() {
      aToB.stop();
      bToA.stop();
      await Promise.all([new Promise<void>((r) => forA.close(() => r())), new Promise<void>((r) => forB.close(() => r()))]);
    },
  };
}

/** The port of the one `127.0.0.1` host candidate in an SDP (the peers gather nothing else). */
export function candidatePort(sdp: string): number {
  const m = / 127\.0\.0\.1 (\d+) typ host/.exec(sdp);
  if (!m) throw new Error(`no 127.0.0.1 host candidate in the SDP:\n${sdp}`);
  return Number(m[1]);
}

/** Replace the port of every `127.0.0.1` host candidate (the SDP's other lines are kept byte for byte). */
export function rewriteCandidatePort(sdp: string, port: number): string {
  return sdp.replace(/( 127\.0\.0\.1 )\d+( typ host)/g, `$1${port}$2`);
}
