/**
 * Small steps on a werift RTCPeerConnection that both room and manual negotiation use: apply the remote description,
 * wait for the connection, watch it afterwards, wait for gathering. Each returns or rejects with RtcError.
 */
import type { RTCPeerConnection } from 'werift';
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { dtlsIdentityError, dtlsProofFailure } from '../peer-connection.js';
import { bundleRemoteDescription } from '../sdp-bundle.js';

/** setRemoteDescription, with werift's bare Errors about a bad remote SDP turned into RTC_ERR_PROTOCOL. */
export async function applyRemote(pc: RTCPeerConnection, type: 'offer' | 'answer', sdp: string): Promise<void> {
  try {
    // RFC 8843 BUNDLE as the remote means it (bundle-only sections, per-section ICE credentials): src/rtc/sdp-bundle.ts
    await pc.setRemoteDescription({ type, sdp: bundleRemoteDescription(pc, sdp) });
  } catch (e) {
    throw new RtcError('RTC_ERR_PROTOCOL', `the peer's ${type} was not accepted: ${(e as Error)?.message || 'invalid SDP'}`, { cause: e });
  }
}

/** Wait for the connection (DTLS up) or fail. Resolves with nothing; rejects with RtcError. */
export function waitConnected(pc: RTCPeerConnection, done: Promise<never>): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  const d = deferred<void>();
  const sub = pc.connectionStateChange.subscribe((s) => {
    if (s === 'connected') d.resolve();
    else if (s === 'failed' || s === 'closed') {
      // A peer that failed werift's DTLS proof checks (patch 008) is an authentication failure, not a network one.
      const proof = dtlsProofFailure(pc);
      d.reject(
        proof !== undefined
          ? dtlsIdentityError(proof)
          : new RtcError('RTC_ERR_ICE_FAILED', `the connection ${s === 'failed' ? 'failed' : 'was closed'} before it came up (ICE/DTLS)`, {
              hint: 'no candidate pair worked: check firewalls, or add a TURN server (and use only its relay candidates)',
            }),
      );
    }
  });
  return Promise.race([d.promise, done]).finally(() => sub.unSubscribe());
}

/** After connecting: ICE failure, DTLS close, or a long "disconnected" mean the peer is gone. */
export function watchConnection(pc: RTCPeerConnection, graceMs: number, markLeft: (r: string) => void, isClosed: () => boolean): void {
  let graceTimer: NodeJS.Timeout | undefined;
  pc.connectionStateChange.subscribe((s) => {
    if (isClosed()) return;
    if (s === 'failed') markLeft('the connection failed (ICE consent lost)');
    else if (s === 'closed') markLeft('the peer closed the connection');
    else if (s === 'disconnected') {
      graceTimer ??= setTimeout(() => {
        if (pc.connectionState === 'disconnected') markLeft(`the connection stayed disconnected for ${graceMs / 1000} s`);
      }, graceMs);
      graceTimer.unref();
    } else if (s === 'connected' && graceTimer) {
      clearTimeout(graceTimer);
      graceTimer = undefined;
    }
  });
  // werift reports a remote DTLS close_notify / SCTP ABORT through the SCTP transport's state.
  pc.sctpTransport?.sctp.stateChanged.closed.subscribe(() => {
    if (!isClosed()) markLeft('the peer closed the data connection');
  });
  for (const t of pc.dtlsTransports) {
    t.onStateChange.subscribe((s) => {
      if (!isClosed() && (s === 'closed' || s === 'failed')) markLeft(`the DTLS transport ${s}`);
    });
  }
}

/** Wait until ICE gathering is complete (or give up after a bound: a slow STUN/TURN server must not hang us). */
export async function gatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  const d = deferred<void>();
  const sub = pc.iceGatheringStateChange.subscribe((s) => {
    if (s === 'complete') d.resolve();
  });
  const t = setTimeout(() => d.resolve(), timeoutMs);
  try {
    await d.promise;
  } finally {
    clearTimeout(t);
    sub.unSubscribe();
  }
}
