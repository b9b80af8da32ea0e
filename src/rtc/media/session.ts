/**
 * The session plumbing `record` and `publish` share: connect to the one remote peer (connectPeer, BUNDLE on one ICE
 * transport), join the page's chat, and decide when to stop (--duration, Ctrl-C, the peer leaving, or the caller
 * saying so), with every timer in one place so nothing outlives the session.
 */
import type { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { interruptError, RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { connectPeer, type PeerEvent, type PeerRole, type PeerSession, type PeerSessionOptions } from '../peer.js';
import { attachChat, type Chat } from '../record-chat.js';

export type StopReason = 'duration' | 'interrupted' | 'peer-left' | 'end';

export interface MediaSessionOptions extends Pick<PeerSessionOptions, 'ice' | 'signal' | 'room' | 'token' | 'timeoutMs' | 'abort' | 'connectSignaling' | 'manual'> {
  codecs: { video?: RTCRtpCodecParameters[]; audio?: RTCRtpCodecParameters[] };
  /** Add transceivers and subscribe to tracks; runs before negotiation. */
  setup: (pc: RTCPeerConnection, role: PeerRole) => void;
  onEvent: (e: PeerEvent | { type: 'chat'; text: string }) => void;
  chat?: { onMessage?: (text: string) => void; input?: AsyncIterable<string> };
  /** Werift connection extras for tests (e.g. a port range). */
  peerConfig?: Record<string, unknown>;
}

export class MediaSession {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopped = deferred<StopReason>();
  private reason: StopReason | undefined;
  private readonly onAbort = (): void => this.stop('interrupted');

  private constructor(
    readonly peer: PeerSession,
    private readonly abort: AbortSignal | undefined,
    private readonly chat: Chat | undefined,
  ) {
    if (abort?.aborted) this.stop('interrupted');
    abort?.addEventListener('abort', this.onAbort, { once: true });
    void peer.peerLeft.then(() => this.stop('peer-left'));
  }

  /** Connect (RTC_ERR_NO_PEER, RTC_ERR_ICE_FAILED, RTC_ERR_INTERRUPTED … from connectPeer) and return the session. */
  static async open(opts: MediaSessionOptions): Promise<MediaSession> {
    if (opts.abort?.aborted) throw interruptError(opts.abort.reason);
    let chat: Chat | undefined;
    const peer = await connectPeer({
      ice: opts.ice,
      signal: opts.signal,
      room: opts.room,
      token: opts.token,
      timeoutMs: opts.timeoutMs,
      abort: opts.abort,
      setup: (pc, role) => {
        opts.setup(pc, role);
        chat = attachChat(pc, {
          onMessage: (text) => {
            opts.onEvent({ type: 'chat', text });
            opts.chat?.onMessage?.(text);
          },
          input: opts.chat?.input,
        });
      },
      onEvent: (e) => opts.onEvent(e),
      // max-bundle: one ICE transport for every m-line (werift leaves the sockets of unused un-bundled transports open).
      peerConfig: { codecs: opts.codecs, bundlePolicy: 'max-bundle', ...(opts.peerConfig ?? {}) },
      connectSignaling: opts.connectSignaling,
      manual: opts.manual,
    });
    return new MediaSession(peer, opts.abort, chat);
  }

  /** How the media flows: direct (host/srflx) or relayed through TURN. */
  get connection(): 'direct' | 'relayed' {
    return this.peer.path;
  }

  get chatCounts(): { sent: number; received: number } {
    return { sent: this.chat?.sent ?? 0, received: this.chat?.received ?? 0 };
  }

  /** Why the session stops; resolves once (the first reason wins). */
  get stopReason(): Promise<StopReason> {
    return this.stopped.promise;
  }

  get isStopped(): boolean {
    return this.reason !== undefined;
  }

  stop(reason: StopReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.stopped.resolve(reason);
  }

  /** Stop with 'duration' after `ms`. */
  stopAfter(ms: number): void {
    this.after(ms, () => this.stop('duration'));
  }

  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, Math.max(0, ms));
    this.timers.add(t);
  }

  every(ms: number, fn: () => void): void {
    this.timers.add(setInterval(fn, ms));
  }

  /**
   * Wait for `p`, or fail: `onTimeout()` after `ms` (resolve instead when it returns undefined), RTC_ERR_INTERRUPTED
   * on Ctrl-C, RTC_ERR_PEER_LEFT (with `leftMessage`) when the peer goes first.
   */
  async waitFor<T>(p: Promise<T>, ms: number, onTimeout: () => RtcError | undefined, leftMessage: string): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<undefined>((res, rej) => {
          timer = setTimeout(() => {
            const e = onTimeout();
            if (e) rej(e);
            else res(undefined);
          }, ms);
        }),
        new Promise<never>((_res, rej) => {
          onAbort = () => rej(interruptError(this.abort?.reason));
          if (this.abort?.aborted) onAbort();
          else this.abort?.addEventListener('abort', onAbort, { once: true });
        }),
        this.peer.peerLeft.then(() => {
          throw new RtcError('RTC_ERR_PEER_LEFT', leftMessage, { hint: 'start the other side again' });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.abort?.removeEventListener('abort', onAbort);
    }
  }

  /** Clear every timer, leave the room and close the connection. Idempotent. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.abort?.removeEventListener('abort', this.onAbort);
    await this.peer.close().catch(() => {});
  }
}
