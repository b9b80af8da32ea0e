/**
 * Small steps on a connected-or-connecting EnginePeer that both room and manual negotiation use: wait for the
 * connection, and watch it afterwards. Each returns or rejects with RtcError.
 */
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { dtlsIdentityError } from '../peer-connection.js';
import type { EnginePeer } from '../engine/types.js';

/** Wait for the connection (DTLS up) or fail. Resolves with nothing; rejects with RtcError. */
export function waitConnected(peer: EnginePeer, done: Promise<never>): Promise<void> {
  if (peer.connectionState === 'connected') return Promise.resolve();
  const d = deferred<void>();
  const unsubscribe = peer.onConnectionState((s) => {
    if (s === 'connected') d.resolve();
    else if (s === 'failed' || s === 'closed') {
      // A peer that failed werift's DTLS proof checks (patch 008) is an authentication failure, not a network one.
      const proof = peer.dtlsProofFailure();
      d.reject(
        proof !== undefined
          ? dtlsIdentityError(proof)
          : new RtcError('RTC_ERR_ICE_FAILED', `the connection ${s === 'failed' ? 'failed' : 'was closed'} before it came up (ICE/DTLS)`, {
              hint: 'no candidate pair worked: check firewalls, or add a TURN server (and use only its relay candidates)',
            }),
      );
    }
  });
  return Promise.race([d.promise, done]).finally(unsubscribe);
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
