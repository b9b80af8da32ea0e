/**
 * The state of one connectPeer() call while it negotiates: the deadline, what ends the attempt early (timeout, abort,
 * a fatal signaling error, the peer leaving), and the clean-up. Room and manual negotiation (room.ts, manual.ts) drive
 * it; `connected()` turns it into the PeerSession the caller gets.
 *
 * Every await of the negotiation races `failure` (see `race`): no werift call may hang the session past its timeout.
 */
import type { RTCPeerConnection } from 'werift';
import { interruptError, RtcError, toRtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { weriftEngine } from '../engine/load.js';
import type { EnginePeer } from '../engine/types.js';
import { waitConnected, watchConnection } from './connection.js';
import type { PeerEvent, PeerRole, PeerSession, PeerSessionOptions, PeerSignal, PeerSignaling } from './types.js';

/** What the attempt waits for now; decides which error a timeout is. */
export type AttemptPhase = 'waiting' | 'authenticating' | 'connecting';

/** Extra checks once the connection is up (code mode: the DTLS channel binding, docs/peer-auth.md). */
export type ConnectedCheck = (peer: EnginePeer) => Promise<void>;

export class SessionAttempt {
  readonly ac = new AbortController();
  readonly failure: Promise<never>;
  private readonly failed = deferred<never>();
  private readonly left = deferred<void>();
  private timer: NodeJS.Timeout | undefined;
  private armedMs = 0;
  private phase: AttemptPhase = 'waiting';
  private closed = false;
  private reason: string | undefined;
  peer: EnginePeer | undefined;
  signaling: PeerSignaling | undefined;
  remoteId: string | undefined;
  /** When negotiation started (offer created or received): setupMs counts from here. */
  setupStart = Date.now();
  /** Set by code mode once the PAKE succeeded. */
  authenticated = false;
  /** What the timeout message names as the place to meet ("room \"x\"", "code 7-..."). */
  meetingPlace: string;

  constructor(readonly opts: PeerSessionOptions) {
    this.failure = this.failed.promise;
    this.failure.catch(() => {});
    this.meetingPlace = `room "${opts.room ?? ''}"`;
    opts.abort?.addEventListener('abort', this.onAbort, { once: true });
    this.ac.signal.addEventListener('abort', () => this.fail(interruptError(this.ac.signal.reason)), { once: true });
    this.arm(opts.peerWaitMs ?? opts.timeoutMs);
  }

  private readonly onAbort = (): void => this.ac.abort(this.opts.abort?.reason);

  emit(e: PeerEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      /* a rendering bug must not break the session */
    }
  }

  /** Wait for `p`, or reject with whatever ends the attempt first. */
  race<T>(p: Promise<T> | T): Promise<T> {
    return Promise.race([Promise.resolve(p), this.failure]);
  }

  /** End the attempt with this error (the first one wins). */
  fail(err: unknown): void {
    this.failed.reject(toRtcError(err));
  }

  /** The peer showed up: from now on a timeout means authentication or ICE failed, not "no peer". */
  peerSeen(phase: Exclude<AttemptPhase, 'waiting'> = 'connecting'): void {
    const first = this.phase === 'waiting';
    this.phase = phase;
    if (first && this.opts.peerWaitMs !== undefined) this.arm(this.opts.timeoutMs);
  }

  /** Whether a peer was seen already. */
  get seenPeer(): boolean {
    return this.phase !== 'waiting';
  }

  private arm(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedMs = ms;
    this.timer = setTimeout(() => this.fail(this.timeoutError()), ms);
  }

  private timeoutError(): RtcError {
    const s = `${this.armedMs / 1000} s`;
    if (this.phase === 'connecting') {
      return new RtcError('RTC_ERR_ICE_FAILED', `could not connect to the peer within ${s}`, {
        hint: 'no candidate pair worked: check firewalls, or add a TURN server (and use only its relay candidates)',
      });
    }
    if (this.phase === 'authenticating') {
      return new RtcError('RTC_ERR_PEER_AUTH', `the peer did not complete the code exchange within ${s}`, {
        hint: 'start again with a new code',
      });
    }
    const manual = this.opts.signal === 'manual';
    return new RtcError('RTC_ERR_NO_PEER', manual ? `no answer/offer was pasted within ${s}` : `no peer joined ${this.meetingPlace} within ${s}`, {
      hint: manual ? 'paste the line the other side printed' : 'start the other side on the same signaling server, or wait longer',
    });
  }

  /** The remote is gone (signaling peer-left, bye, connection failure). Idempotent. */
  markLeft(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.emit({ type: 'peer-left', reason });
    this.left.resolve();
    // Still negotiating? Then there is nothing to wait for (after connecting nobody races `failure` any more).
    this.fail(new RtcError('RTC_ERR_PEER_LEFT', `${reason} before the connection was up`, { hint: 'start the other side again' }));
  }

  /** Close the peer connection and leave the room; tell the remote (bye, data channel resets). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.opts.abort?.removeEventListener('abort', this.onAbort);
    this.sayBye();
    try {
      // Closes the data channels first: the remote sees the stream reset at once (engine/types.ts).
      await this.peer?.close();
    } catch {
      /* already closed */
    }
    try {
      await this.signaling?.close();
    } catch {
      /* already gone */
    }
    // A signaling connect still in flight (the attempt timed out first) gives up instead of lingering.
    this.ac.abort();
  }

  /**
   * The peer connection on the session's engine, with the caller's channels/tracks added (`setup` for werift's
   * RTCPeerConnection, `setupPeer` for any engine). `trickle`: room negotiation (engine/types.ts EnginePeerOptions).
   */
  async createPeer(role: PeerRole, trickle: boolean): Promise<EnginePeer> {
    const engine = this.opts.engine ?? weriftEngine;
    const peer = (this.peer = await this.race(engine.create(this.opts.ice, { trickle, werift: this.opts.peerConfig })));
    if (this.opts.setup) await this.race(this.opts.setup(weriftPc(peer), role));
    await this.race(this.opts.setupPeer?.(peer, role));
    return peer;
  }

  /** Set by room negotiation: how to send a `bye` (sealed in code mode). */
  sendSignal: ((s: PeerSignal) => void) | undefined;

  private sayBye(): void {
    if (!this.sendSignal || this.remoteId === undefined || this.reason !== undefined) return;
    // In code mode a bye is sealed like everything else; before the exchange completed there is nobody to tell.
    if (this.opts.auth && !this.authenticated) return;
    try {
      this.sendSignal({ kind: 'bye' });
    } catch {
      /* signaling already gone */
    }
  }

  /**
   * Wait for DTLS to be up, run `check` (code mode), and hand out the session. From here on only `peerLeft` reports
   * the remote going away.
   */
  async connected(role: PeerRole, check?: ConnectedCheck): Promise<PeerSession> {
    const peer = this.peer!;
    await waitConnected(peer, this.failure);
    const setupMs = Date.now() - this.setupStart;
    if (check) await this.race(check(peer));
    if (this.timer) clearTimeout(this.timer);
    const selectedPair = peer.selectedPair();
    if (!selectedPair) throw new RtcError('RTC_ERR_INTERNAL', `connected but ${peer.engine} reports no selected candidate pair`);
    const authenticated = this.authenticated;
    this.emit({ type: 'connected', path: selectedPair.path, selectedPair, setupMs, authenticated });
    watchConnection(peer, this.opts.disconnectGraceMs ?? 8000, (r) => this.markLeft(r), () => this.closed);
    const leftReason = (): string | undefined => this.reason;
    return {
      peer,
      engine: peer.engine,
      get pc() {
        return weriftPc(peer);
      },
      role,
      remoteId: this.remoteId,
      selectedPair,
      path: selectedPair.path,
      setupMs,
      authenticated,
      peerLeft: this.left.promise,
      get leftReason() {
        return leftReason();
      },
      close: () => this.close(),
    };
  }
}

/** The werift RTCPeerConnection under `peer` (media needs it); another engine has none. */
function weriftPc(peer: EnginePeer): RTCPeerConnection {
  const pc = (peer as { pc?: RTCPeerConnection }).pc;
  if (!pc) throw new RtcError('RTC_ERR_INTERNAL', `the ${peer.engine} engine has no werift RTCPeerConnection (media sessions run on werift only)`);
  return pc;
}
