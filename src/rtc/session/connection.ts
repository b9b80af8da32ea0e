/**
 * Small steps on a connected-or-connecting EnginePeer that both room and manual negotiation use: wait for the
 * connection, and watch it afterwards. Each returns or rejects with RtcError.
 */
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { dtlsIdentityError } from '../peer-connection.js';
import type { EnginePeer } from '../engine/types.js';

/**
 * How long a peer that leaves while the DTLS handshake runs waits for the engine's verdict on that handshake. A peer
 * whose handshake refused ours (or that ours refused) hangs up at once, and its bye or peer-left, over the signaling
 * server, can overtake the fatal alert it sent on the media path (RFC 5246 §7.2.2; measured on loopback: the bye first
 * by a few ms in about half of the runs). 1 s is more than any one-way difference between the two paths; a peer that
 * just hangs up mid-handshake (a handshake lasts ~0.1 s) is reported that much later.
 */
export const HANDSHAKE_VERDICT_GRACE_MS = 1000;

/** Wait for the connection (DTLS up) or fail. Resolves with nothing; rejects with RtcError. */
export function waitConnected(peer: EnginePeer, done: Promise<never>, graceMs = HANDSHAKE_VERDICT_GRACE_MS): Promise<void> {
  if (peer.connectionState === 'connected') return Promise.resolve();
  const d = deferred<void>();
  let left: RtcError | undefined;
  const unsubscribe = peer.onConnectionState((s) => {
    if (s === 'connected' && !left) d.resolve();
    else if (s === 'failed' || s === 'closed') d.reject(left ? identityFailure(peer, left) : connectFailure(peer, s));
  });
  done.catch((e: unknown) => {
    if (!(e instanceof RtcError) || e.code !== 'RTC_ERR_PEER_LEFT') return d.reject(e);
    // The peer left: a failed handshake the engine reports within the grace wins (identityFailure).
    left = e;
    const timer = setTimeout(() => d.reject(identityFailure(peer, e)), graceMs);
    const stop = (): void => clearTimeout(timer);
    d.promise.then(stop, stop);
  });
  return d.promise.finally(unsubscribe);
}

function connectFailure(peer: EnginePeer, s: 'failed' | 'closed'): RtcError {
  // A peer that failed the DTLS identity checks (fingerprint, patch 008's proofs, its alert) is an authentication
  // failure, not a network one.
  const proof = peer.dtlsProofFailure();
  if (proof !== undefined) return dtlsIdentityError(proof);
  return new RtcError('RTC_ERR_ICE_FAILED', `the connection ${s === 'failed' ? 'failed' : 'was closed'} before it came up (ICE/DTLS)`, {
    hint: 'no candidate pair worked: check firewalls, or add a TURN server (and use only its relay candidates)',
  });
}

/** The peer left while connecting (`left`): RTC_ERR_PEER_AUTH if the engine saw the DTLS handshake refuse, else `left`. */
function identityFailure(peer: EnginePeer, left: RtcError): RtcError {
  const proof = peer.dtlsProofFailure();
  return proof === undefined ? left : dtlsIdentityError(proof);
}

/** After connecting: ICE failure, DTLS/SCTP close, or a long "disconnected" mean the peer is gone. */
export function watchConnection(peer: EnginePeer, graceMs: number, markLeft: (r: string) => void, isClosed: () => boolean): void {
  let graceTimer: NodeJS.Timeout | undefined;
  peer.onConnectionState((s) => {
    if (isClosed()) return;
    if (s === 'failed') markLeft('the connection failed (ICE consent lost)');
    else if (s === 'closed') markLeft('the peer closed the connection');
    else if (s === 'disconnected') {
      graceTimer ??= setTimeout(() => {
        if (peer.connectionState === 'disconnected') markLeft(`the connection stayed disconnected for ${graceMs / 1000} s`);
      }, graceMs);
      graceTimer.unref();
    } else if (s === 'connected' && graceTimer) {
      clearTimeout(graceTimer);
      graceTimer = undefined;
    }
  });
  peer.onTransportClosed((why) => {
    if (!isClosed()) markLeft(why);
  });
}
