/**
 * The peer session every peer command uses (send-file, recv-file, record, publish): meet the other peer through the
 * signaling server (in a room, or with a short code that authenticates it) or by copy/paste, negotiate with trickle
 * ICE, and hand back a connected RTCPeerConnection with the selected candidate pair.
 *
 * Roles: the later joiner offers (it sees the earlier peer in `joined.peers`), so two peers never offer at once and
 * no perfect-negotiation rollback is needed. The payloads relayed between the peers are documented in
 * docs/peer-signaling.md, the code exchange in docs/peer-auth.md; the companion browser page implements the same.
 *
 * The parts: session/attempt.ts (deadline, failure, clean-up, the PeerSession), session/meeting.ts (which room, who
 * offers), session/room.ts (code exchange, offer/answer), session/manual.ts (copy/paste), session/signal-pipe.ts
 * (relayed messages), session/trickle.ts, session/connection.ts (werift steps), auth/* (codes, SPAKE2, sealed
 * payloads, DTLS binding).
 */
import { interruptError, toRtcError } from '../errors.js';
import { SessionAttempt } from './session/attempt.js';
import { negotiateManual } from './session/manual.js';
import { negotiateRoom } from './session/room.js';
import type { PeerSession, PeerSessionOptions } from './session/types.js';

export type { SelectedPair } from './peer-connection.js';
export type {
  ManualOptions,
  PeerAuthOptions,
  PeerEvent,
  PeerRole,
  PeerSession,
  PeerSessionOptions,
  PeerSignal,
  PeerSignaling,
} from './session/types.js';

/**
 * Connect to one remote peer. Resolves once the peer connection is up (DTLS connected, and in code mode bound to the
 * code). Rejects with RtcError: RTC_ERR_NO_PEER, RTC_ERR_ICE_FAILED, RTC_ERR_PEER_AUTH, RTC_ERR_PEER_LEFT,
 * RTC_ERR_SIGNAL_*, RTC_ERR_BAD_SDP (manual mode), RTC_ERR_INTERRUPTED.
 */
export async function connectPeer(opts: PeerSessionOptions): Promise<PeerSession> {
  if (opts.abort?.aborted) throw interruptError(opts.abort.reason);
  const attempt = new SessionAttempt(opts);
  try {
    return opts.signal === 'manual' ? await negotiateManual(attempt) : await negotiateRoom(attempt);
  } catch (e) {
    await attempt.close();
    throw toRtcError(e);
  }
}
