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
}

export interface DirectionCounters {
  packets: number;
  sctpPackets: number;
  dropped: number;
  reordered: number;
  duplicated: number;
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

class Direction {
  readonly counters: DirectionCounters = { packets: 0, sctpPackets: 0, dropped: 0, reordered: 0, duplicated: 0 };
  private held: Buffer | undefined;
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Socket,
    private readonly target: () => number | undefined,
    private readonly impairment: Impairment,
    private readonly rand: () => number,
  ) {}

  private send(msg: Buffer): void {
    const port = this.target();
    if (port !== undefined) this.out.send(msg, port, '127.0.0.1');
  }

  handle(msg: Buffer): void {
    this.counters.packets++;
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
  // A's packets arrive at forA and leave from forB (so B sees them come from the address it was given for A).
  const aToB = new Direction(forB, () => ports.b, impairment, rand);
  const bToA = new Direction(forA, () => ports.a, impairment, rand);
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
