/**
 * The code exchange over the signaling relay (docs/peer-auth.md §Exchange): SPAKE2 with key confirmation in the
 * three flights RFC 9382 §3.1 draws, the joiner (the side that typed the code) as A, the creator as B:
 *
 *   joiner                       creator
 *   auth-hello {pA}        ──▶
 *                          ◀──   auth-reply {pB, cB}
 *   (verify cB)
 *   auth-confirm {cA}      ──▶   (verify cA)
 *
 * A confirmation that does not verify means the other side used another code: we say so (`auth-fail`) and stop. The
 * creator never accepts a second attempt: the caller ends the session, which burns the code.
 */
import { RtcError } from '../../errors.js';
import type { SignalPipe } from '../session/signal-pipe.js';
import { authError } from './codecs.js';
import { AUTH_VERSION, fromB64, supportedHello, toB64, type AuthConfirm, type AuthFail, type AuthHello, type AuthReply } from './messages.js';
import { SealedChannel } from './sealed.js';
import { Spake2, Spake2Error, SPAKE2_SUITE, type Spake2Result } from './spake2.js';

const enc = new TextEncoder();
/** RFC 9382 §3.3 identities and §4 AAD of this protocol (docs/peer-auth.md §Key schedule). */
export const PAKE_IDENTITIES = { idA: enc.encode('rtc-cli joiner'), idB: enc.encode('rtc-cli creator'), aad: enc.encode('rtc-cli peer-auth v1') };

type Race = <T>(p: Promise<T>) => Promise<T>;

const WRONG_CODE_JOINER = 'the code does not match the one the sender made (mistyped, or from another transfer)';

function finish(spake: Spake2, share: Uint8Array | undefined, pipe: SignalPipe): Spake2Result {
  try {
    if (!share) throw new Spake2Error('the peer sent a malformed share');
    return spake.finish(share);
  } catch (e) {
    pipe.send({ kind: 'auth-fail', reason: 'protocol' } satisfies AuthFail);
    if (e instanceof Spake2Error) throw authError(`the code exchange failed: ${e.message}`);
    throw e;
  }
}

function refused(f: AuthFail, side: 'joiner' | 'creator'): RtcError {
  if (f.reason === 'confirmation') {
    return side === 'joiner'
      ? authError(`${WRONG_CODE_JOINER}; the sender stops after one wrong attempt`, 'ask the sender for a new code')
      : authError('the peer typed a different code (a wrong or guessed code): this code is used up');
  }
  return authError('the peer stopped the code exchange (it could not read our message)');
}

/** The joiner's side: we know the code; `pipe` is locked to the creator. Resolves with the sealed channel. */
export async function joinerExchange(pipe: SignalPipe, w: bigint, race: Race): Promise<SealedChannel> {
  const spake = new Spake2('A', w, PAKE_IDENTITIES);
  pipe.send({ kind: 'auth-hello', v: AUTH_VERSION, suite: SPAKE2_SUITE, pA: toB64(spake.share) } satisfies AuthHello);
  const reply = await race(pipe.next<AuthReply | AuthFail>(['auth-reply', 'auth-fail']));
  if (reply.msg.kind === 'auth-fail') throw refused(reply.msg, 'joiner');
  const r = finish(spake, fromB64(reply.msg.pB, 65), pipe);
  const cB = fromB64(reply.msg.cB, 32);
  if (!cB || !r.verifyPeer(cB)) {
    pipe.send({ kind: 'auth-fail', reason: 'confirmation' } satisfies AuthFail);
    throw authError(`${WRONG_CODE_JOINER}; the sender stops after one wrong attempt`, 'ask the sender for a new code');
  }
  pipe.send({ kind: 'auth-confirm', cA: toB64(r.confirmation) } satisfies AuthConfirm);
  return new SealedChannel(r.ke, 'joiner');
}

/**
 * The creator's side: wait for one hello (from whoever joined), answer it, check the confirmation. `onPeer` is told
 * who is trying as soon as the hello arrives.
 */
export async function creatorExchange(pipe: SignalPipe, w: bigint, race: Race, onPeer: (id: string) => void): Promise<SealedChannel> {
  const hello = await race(pipe.next<AuthHello>(['auth-hello']));
  pipe.lockRemote(hello.from);
  onPeer(hello.from);
  if (!supportedHello(hello.msg)) {
    pipe.send({ kind: 'auth-fail', reason: 'protocol' } satisfies AuthFail);
    throw authError(`the peer speaks another code exchange (version ${String(hello.msg.v)}, ${hello.msg.suite.slice(0, 40)})`, 'use the same rtc-cli version on both sides');
  }
  const spake = new Spake2('B', w, PAKE_IDENTITIES);
  const r = finish(spake, fromB64(hello.msg.pA, 65), pipe);
  pipe.send({ kind: 'auth-reply', pB: toB64(spake.share), cB: toB64(r.confirmation) } satisfies AuthReply);
  const conf = await race(pipe.next<AuthConfirm | AuthFail>(['auth-confirm', 'auth-fail']));
  if (conf.msg.kind === 'auth-fail') throw refused(conf.msg, 'creator');
  const cA = fromB64(conf.msg.cA, 32);
  if (!cA || !r.verifyPeer(cA)) {
    pipe.send({ kind: 'auth-fail', reason: 'confirmation' } satisfies AuthFail);
    throw authError('the peer\'s key confirmation did not verify (a wrong or guessed code): this code is used up');
  }
  return new SealedChannel(r.ke, 'creator');
}
