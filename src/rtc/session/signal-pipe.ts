/**
 * The relayed-message path between us and the one remote peer during room negotiation: it filters out other peers
 * once the remote is known, decodes payloads with the current codec (plain, the code exchange, or sealed), hands the
 * kinds that are routed (candidates, bye) to their handler, and keeps the rest for whoever waits for them (`next`).
 *
 * Payloads are decoded lazily, when someone can take them: in code mode the codec changes right after key
 * confirmation (code exchange, then sealed payloads), and a sealed offer that arrived just behind the confirmation
 * must be opened with the new codec, not refused by the old one.
 */
import { RtcError } from '../../errors.js';
import { deferred, type Deferred } from '../deferred.js';
import type { RelayedMessage } from '../../signaling/types.js';
import type { PeerSignal, PeerSignaling } from './types.js';

/** Any payload the session understands: a PeerSignal or a code-mode message (src/rtc/auth/messages.ts). */
export interface WireMessage {
  kind: string;
}

export interface Relayed<M extends WireMessage = WireMessage> {
  from: string;
  msg: M;
}

export interface SignalCodec {
  /** What a relayed payload means: a message, undefined to ignore it, or a thrown RtcError that ends the attempt. */
  decode(data: unknown): WireMessage | undefined;
  /** The payload to relay for `msg`. */
  encode(msg: WireMessage): unknown;
}

/** Undecoded and decoded messages kept for later, at most (a hostile peer must not grow memory without bound). */
const MAX_QUEUED = 512;

export function isPeerSignal(d: unknown): d is PeerSignal {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  switch (o.kind) {
    case 'offer':
    case 'answer':
      return typeof o.sdp === 'string' && o.sdp.length > 0;
    case 'candidate':
      return typeof o.candidate === 'string';
    case 'bye':
      return true;
    default:
      return false;
  }
}

/** --room sessions: PeerSignals as they are; everything else is ignored (docs/peer-signaling.md). */
export const plainCodec: SignalCodec = {
  decode: (d) => (isPeerSignal(d) ? d : undefined),
  encode: (m) => m,
};

export class SignalPipe {
  private remote: string | undefined;
  private raw: RelayedMessage[] = [];
  private decoded: Relayed[] = [];
  private waiter: { kinds: ReadonlySet<string>; d: Deferred<Relayed> } | undefined;
  private routes = new Set<string>();
  private handler: ((m: Relayed) => void) | undefined;
  /** Set after a payload ended the attempt: nothing after it is looked at. */
  private dead = false;

  constructor(
    private readonly sig: PeerSignaling,
    private codec: SignalCodec,
    private readonly onFatal: (e: unknown) => void,
  ) {
    sig.onMessage((m) => this.receive(m));
  }

  get remoteId(): string | undefined {
    return this.remote;
  }

  /** From now on only this peer's messages count. */
  lockRemote(id: string): void {
    this.remote = id;
  }

  setCodec(codec: SignalCodec): void {
    this.codec = codec;
  }

  send<M extends WireMessage>(msg: M): void {
    if (this.remote === undefined) throw new RtcError('RTC_ERR_INTERNAL', 'no remote peer to send to yet');
    this.sig.send(this.remote, this.codec.encode(msg));
  }

  /** Messages of these kinds go to `fn` as they arrive (now and later); the others wait for `next`. */
  route(kinds: string[], fn: (m: Relayed) => void): void {
    this.routes = new Set(kinds);
    this.handler = fn;
    for (const m of this.decoded.filter((x) => this.routes.has(x.msg.kind))) fn(m);
    this.decoded = this.decoded.filter((x) => !this.routes.has(x.msg.kind));
    this.pump();
  }

  /** The next message of one of these kinds (kept ones first). Race it against the attempt's failure. */
  next<M extends WireMessage = WireMessage>(kinds: string[]): Promise<Relayed<M>> {
    const i = this.decoded.findIndex((m) => kinds.includes(m.msg.kind));
    if (i >= 0) return Promise.resolve(this.decoded.splice(i, 1)[0] as Relayed<M>);
    const d = deferred<Relayed>();
    this.waiter = { kinds: new Set(kinds), d };
    this.pump();
    return d.promise as Promise<Relayed<M>>;
  }

  private receive(m: RelayedMessage): void {
    if (this.dead || (this.remote !== undefined && m.from !== this.remote)) return;
    if (this.raw.length >= MAX_QUEUED) return;
    this.raw.push(m);
    this.pump();
  }

  private pump(): void {
    while (this.raw.length && (this.waiter || this.handler)) {
      const m = this.raw.shift()!;
      if (this.remote !== undefined && m.from !== this.remote) continue;
      let msg: WireMessage | undefined;
      try {
        msg = this.codec.decode(m.data);
      } catch (e) {
        this.raw = [];
        this.dead = true;
        this.onFatal(e);
        return;
      }
      if (msg) this.deliver({ from: m.from, msg });
    }
  }

  private deliver(m: Relayed): void {
    if (this.handler && this.routes.has(m.msg.kind)) this.handler(m);
    else if (this.waiter?.kinds.has(m.msg.kind)) {
      const w = this.waiter;
      this.waiter = undefined;
      w.d.resolve(m);
    } else if (this.decoded.length < MAX_QUEUED) this.decoded.push(m);
  }
}
