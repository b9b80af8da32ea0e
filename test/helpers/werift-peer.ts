/**
 * Pieces of a werift peer run as its own process with its signaling relayed line by line by a parent process
 * (test/helpers/sctp-peer.ts, bench/datachannel/peer.ts).
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';

export interface Sig {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface StdioSignaling {
  /** Create and send our offer (the offering side calls this once). */
  offer(): Promise<void>;
  /** The other side's offer (answered) or answer. */
  receive(sig: Sig): void;
}

/**
 * Offer/answer over stdio: writes `{"sig":{"type","sdp"}}` with a complete SDP (candidates included, no trickle);
 * the other side's `sig` objects go to `receive`.
 */
export function stdioSignaling(pc: RTCPeerConnection, out: (o: { sig: Sig }) => void): StdioSignaling {
  // Wait (up to 10 s) for gathering to finish so that the SDP carries every candidate.
  const gathered = async (): Promise<string> => {
    for (let i = 0; i < 400 && pc.iceGatheringState !== 'complete'; i++) await new Promise((r) => setTimeout(r, 25));
    return pc.localDescription!.sdp;
  };
  return {
    async offer() {
      await pc.setLocalDescription(await pc.createOffer());
      out({ sig: { type: 'offer', sdp: await gathered() } });
    },
    receive(sig) {
      void (async () => {
        await pc.setRemoteDescription(sig);
        if (sig.type === 'offer') {
          await pc.setLocalDescription(await pc.createAnswer());
          out({ sig: { type: 'answer', sdp: await gathered() } });
        }
      })();
    },
  };
}

/**
 * Wait until the channel's bufferedAmount is at most `low`: werift's bufferedAmountLow event (the channel's
 * bufferedAmountLowThreshold must be `low`), with a 50 ms poll as a safety net, as send-file waits.
 */
export function bufferedBelow(dc: RTCDataChannel, low: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      sub.unSubscribe();
      clearInterval(poll);
      resolve();
    };
    const sub = dc.bufferedAmountLow.subscribe(done);
    const poll = setInterval(() => {
      if (dc.bufferedAmount <= low) done();
    }, 50);
  });
}
