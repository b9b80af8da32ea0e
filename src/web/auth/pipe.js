// What a code session reads from and writes to the signaling relay (docs/peer-auth.md §Exchange, Rules; the CLI's is
// src/rtc/session/signal-pipe.ts with src/rtc/auth/codecs.ts):
//  - during the exchange, only the exchange messages count; a plain offer/answer/candidate/bye means the other side
//    does not have the code (or the relay injected it), and a sealed box cannot exist yet: either ends the session;
//  - after key confirmation, only sealed payloads count; an unsealed one that would steer the connection is tampering
//    on the signaling path, and so is a box that does not open. Unknown kinds are ignored, sealed or not.
// Once the remote is locked (the creator's first hello, the joiner's one peer), every other peer is ignored.
import { deliver } from '../lib/inbox.js';
import { isSealed } from './sealed.js';
import { AuthError } from './spake2.js';

const AUTH_KINDS = new Set(['auth-hello', 'auth-reply', 'auth-confirm', 'auth-fail']);

function isObject(d) {
  return typeof d === 'object' && d !== null && !Array.isArray(d);
}

/** A shape-checked exchange message (field contents are checked where they are used). */
export function isAuthMessage(d) {
  if (!isObject(d) || !AUTH_KINDS.has(d.kind)) return false;
  if (d.kind === 'auth-hello') return typeof d.v === 'number' && typeof d.suite === 'string' && typeof d.pA === 'string';
  if (d.kind === 'auth-reply') return typeof d.pB === 'string' && typeof d.cB === 'string';
  if (d.kind === 'auth-confirm') return typeof d.cA === 'string';
  return typeof d.reason === 'string';
}

/** A payload of docs/peer-signaling.md that would steer the connection. */
export function isPeerSignal(d) {
  if (!isObject(d)) return false;
  if (d.kind === 'offer' || d.kind === 'answer') return typeof d.sdp === 'string';
  if (d.kind === 'candidate') return typeof d.candidate === 'string';
  return d.kind === 'bye';
}

const describe = (d) => (d.kind === 'candidate' ? 'ICE candidate' : d.kind);

export class CodePipe {
  /** @param sig a joined SignalingClient; `onPayload(from, payload)` gets every opened sealed payload, in order */
  constructor(sig, onPayload) {
    this.sig = sig;
    this.onPayload = onPayload;
    this.remote = undefined;
    this.channel = undefined;
    /** When the exchange must be complete (the session sets it). */
    this.deadline = Infinity;
    this.queue = [];
    this.waiter = undefined;
    this.error = undefined;
    this.failure = new Promise((_, reject) => (this.rejectFailure = reject));
    this.failure.catch(() => {});
    this.delivering = Promise.resolve();
    sig.addEventListener('relay', (ev) => this.onRelay(ev.detail.from, ev.detail.data));
  }

  lock(id) {
    this.remote = id;
  }

  fail(err) {
    if (this.error) return;
    this.error = err;
    this.rejectFailure(err);
  }

  onRelay(from, d) {
    if (typeof from !== 'string' || (this.remote !== undefined && from !== this.remote) || this.error) return;
    if (this.channel) return this.onSealedPhase(from, d);
    if (isAuthMessage(d)) this.push({ from, msg: d });
    else if (isPeerSignal(d)) this.fail(new AuthError(`the peer sent an unauthenticated ${describe(d)} instead of the code exchange: it does not know the code (or the signaling server injected it)`));
    else if (isSealed(d)) this.fail(new AuthError('a sealed message arrived before the code exchange was complete'));
  }

  onSealedPhase(from, d) {
    if (isSealed(d)) {
      const opened = this.channel.open(d);
      this.delivering = this.delivering.then(async () => {
        let inner;
        try {
          inner = await opened;
        } catch (e) {
          this.fail(new AuthError(`${e.message}: the signaling path tampered with the session`));
          return;
        }
        if (isAuthMessage(inner) && inner.kind === 'auth-fail') this.fail(new AuthError('the peer stopped: it found the signaling or the connection tampered with'));
        else if (isObject(inner) && !this.error) await this.onPayload(from, inner);
      });
    } else if (isAuthMessage(d) && d.kind === 'auth-fail') {
      this.fail(new AuthError('the peer could not verify our key confirmation: the codes differ, or the signaling path altered the exchange'));
    } else if (isPeerSignal(d)) {
      this.fail(new AuthError(`an unsealed ${describe(d)} arrived after authentication: the signaling path tried to change the session`));
    }
  }

  push(m) {
    deliver(this, m);
  }

  /** The next exchange message of one of `kinds` (others are dropped), before `deadline` (ms since the epoch). */
  async next(kinds, deadline = this.deadline, what = 'the peer did not complete the code exchange') {
    for (;;) {
      let m = this.queue.shift();
      if (!m) {
        let timer;
        const timeout = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new AuthError(`${what} in time`)), Math.max(0, deadline - Date.now()));
        });
        try {
          m = await Promise.race([new Promise((resolve) => (this.waiter = resolve)), this.failure, timeout]);
        } finally {
          clearTimeout(timer);
          this.waiter = undefined;
        }
      }
      if (kinds.includes(m.msg.kind)) return m;
    }
  }

  /** From now on everything is sealed with `channel`. */
  seal(channel) {
    this.channel = channel;
    this.queue = [];
  }

  /** Send to the locked remote: plain during the exchange, sealed after. */
  send(payload) {
    if (!this.channel) {
      this.sig.send(payload, this.remote);
      return;
    }
    this.channel.seal(payload).then(
      (box) => this.sig.send(box, this.remote),
      () => {},
    );
  }
}
