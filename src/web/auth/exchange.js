// The code exchange over the signaling relay (docs/peer-auth.md §Exchange; the CLI's is src/rtc/auth/handshake.ts):
// SPAKE2 with key confirmation in three flights, the joiner (who typed the code) as A, the creator as B:
//
//   joiner                        creator
//   auth-hello {v, suite, pA} ──▶
//                             ◀── auth-reply {pB, cB}
//   (verify cB)
//   auth-confirm {cA}         ──▶ (verify cA)
//
// A confirmation that does not verify means the other side used another code: say so (`auth-fail`) and stop. The
// creator never accepts a second attempt: the caller ends the session, which burns the code.
import { SealedChannel } from './sealed.js';
import { AUTH_VERSION, AuthError, fromB64, Spake2, SPAKE2_SUITE, toB64 } from './spake2.js';

const WRONG_CODE_JOINER = 'the code does not match the one the sender made (mistyped, or from another transfer); the sender stops after one wrong attempt: ask it for a new code';
const WRONG_CODE_CREATOR = 'the peer typed a different code (a wrong or guessed code): this code is used up; start again with a new code';

function finish(spake, share, pipe) {
  try {
    if (!share) throw new AuthError('the peer sent a malformed share');
    return spake.finish(share);
  } catch (e) {
    pipe.send({ kind: 'auth-fail', reason: 'protocol' });
    throw new AuthError(`the code exchange failed: ${e.message}`);
  }
}

function refused(f, side) {
  if (f.reason === 'confirmation') return new AuthError(side === 'joiner' ? WRONG_CODE_JOINER : WRONG_CODE_CREATOR);
  return new AuthError('the peer stopped the code exchange (it could not read our message)');
}

/** The joiner's side; `pipe` is locked to the creator. Resolves with the sealed channel. */
export async function joinerExchange(pipe, w, scalar) {
  const spake = new Spake2('A', w, scalar);
  pipe.send({ kind: 'auth-hello', v: AUTH_VERSION, suite: SPAKE2_SUITE, pA: toB64(spake.share) });
  const reply = await pipe.next(['auth-reply', 'auth-fail']);
  if (reply.msg.kind === 'auth-fail') throw refused(reply.msg, 'joiner');
  const r = finish(spake, fromB64(reply.msg.pB, 65), pipe);
  const cB = fromB64(reply.msg.cB, 32);
  if (!cB || !r.verifyPeer(cB)) {
    pipe.send({ kind: 'auth-fail', reason: 'confirmation' });
    throw new AuthError(WRONG_CODE_JOINER);
  }
  pipe.send({ kind: 'auth-confirm', cA: toB64(r.confirmation) });
  return new SealedChannel(r.ke, 'joiner');
}

/** The creator's side, from the first `auth-hello` (already received, `pipe` locked to its sender). */
export async function creatorExchange(pipe, w, hello, scalar) {
  if (hello.v !== AUTH_VERSION || hello.suite !== SPAKE2_SUITE) {
    pipe.send({ kind: 'auth-fail', reason: 'protocol' });
    throw new AuthError(`the peer speaks another code exchange (version ${String(hello.v).slice(0, 10)}); use the same rtc-cli version on both sides`);
  }
  const spake = new Spake2('B', w, scalar);
  const r = finish(spake, fromB64(hello.pA, 65), pipe);
  pipe.send({ kind: 'auth-reply', pB: toB64(spake.share), cB: toB64(r.confirmation) });
  const conf = await pipe.next(['auth-confirm', 'auth-fail']);
  if (conf.msg.kind === 'auth-fail') throw refused(conf.msg, 'creator');
  const cA = fromB64(conf.msg.cA, 32);
  if (!cA || !r.verifyPeer(cA)) {
    pipe.send({ kind: 'auth-fail', reason: 'confirmation' });
    throw new AuthError(WRONG_CODE_CREATOR);
  }
  return new SealedChannel(r.ke, 'creator');
}
