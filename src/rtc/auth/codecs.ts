/**
 * How a code-mode session reads relayed payloads (src/rtc/session/signal-pipe.ts decodes with one of these):
 *  - during the code exchange, only the exchange messages count; a plain offer/answer/candidate/bye means the other
 *    side does not have the code (or the relay injected it) and ends the attempt;
 *  - after key confirmation, only sealed payloads count; anything unsealed that would steer the connection is
 *    tampering on the signaling path and ends the attempt.
 */
import { RtcError } from '../../errors.js';
import { isPeerSignal, type SignalCodec, type WireMessage } from '../session/signal-pipe.js';
import { isAuthMessage, isDtlsBinding } from './messages.js';
import { isSealedMessage, SealedError, type SealedChannel } from './sealed.js';

export function authError(message: string, hint = 'start again with a new code', details?: Record<string, unknown>): RtcError {
  return new RtcError('RTC_ERR_PEER_AUTH', message, { hint, details });
}

/** The peer said `auth-fail`: it stopped, we did not detect anything ourselves (so we do not answer in kind). */
export function stoppedByPeer(e: unknown): boolean {
  return e instanceof RtcError && e.details?.stoppedBy === 'peer';
}

function describeKind(d: { kind: string }): string {
  return d.kind === 'candidate' ? 'ICE candidate' : d.kind;
}

export const exchangeCodec: SignalCodec = {
  decode(d) {
    if (isAuthMessage(d)) return d;
    if (isPeerSignal(d)) {
      throw authError(`the peer sent an unauthenticated ${describeKind(d)} instead of the code exchange: it does not know the code (or the signaling server injected it)`);
    }
    if (isSealedMessage(d)) throw authError('a sealed message arrived before the code exchange was complete');
    return undefined;
  },
  encode: (m) => m,
};

/** After key confirmation: open sealed payloads; an `auth-fail` or an unsealed PeerSignal ends the attempt. */
export function sealedCodec(channel: SealedChannel): SignalCodec {
  return {
    decode(d) {
      if (isSealedMessage(d)) {
        let inner: unknown;
        try {
          inner = channel.open(d);
        } catch (e) {
          throw authError(`${(e as SealedError).message}: the signaling path tampered with the session`, 'start again with a new code, and check who runs the signaling server');
        }
        if (isAuthMessage(inner) && inner.kind === 'auth-fail') {
          throw authError(
            'the peer stopped: it found the signaling or the connection tampered with',
            'start again with a new code, and check who runs the signaling server and the network path',
            { stoppedBy: 'peer' },
          );
        }
        return isPeerSignal(inner) || isDtlsBinding(inner) ? (inner as WireMessage) : undefined;
      }
      if (isAuthMessage(d) && d.kind === 'auth-fail') {
        throw authError('the peer could not verify our key confirmation: the codes differ, or the signaling path altered the exchange', undefined, { stoppedBy: 'peer' });
      }
      if (isPeerSignal(d)) {
        throw authError(`an unsealed ${describeKind(d)} arrived after authentication: the signaling path tried to change the session`, 'start again with a new code, and check who runs the signaling server');
      }
      return undefined;
    },
    encode: (m) => channel.seal(m),
  };
}
