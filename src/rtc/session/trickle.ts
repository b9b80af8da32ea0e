/**
 * Trickle ICE (RFC 8838) for room negotiation, on either engine. werift emits candidates before setLocalDescription() resolves, so
 * local candidates are queued until our SDP is sent, and remote candidates are queued until the remote description
 * is set (RFC 8838 §4: a candidate can only be applied to a known m-section). Candidates already inside the SDP we
 * sent are not sent again.
 */
import { candidateKey, formatCandidateCore, sdpCandidates } from '../candidate.js';
import type { EnginePeer } from '../engine/types.js';
import { candidateAllowed, filterSdpCandidates } from '../peer-connection.js';
import type { PeerSignal } from './types.js';

export type CandidateSignal = Extract<PeerSignal, { kind: 'candidate' }>;
type RemoteCandidate = Pick<CandidateSignal, 'candidate' | 'sdpMid' | 'sdpMLineIndex'>;

/** The local SDP as it is sent (candidates outside --ice-address removed) and the keys of the candidates inside. */
export function describeLocal(peer: EnginePeer, iceAddress: string | undefined): { sdp: string; inSdp: Set<string> } {
  const sdp = filterSdpCandidates(peer.localSdp(), iceAddress);
  return { sdp, inSdp: new Set(sdpCandidates(sdp).map(formatCandidateCore)) };
}

export class Trickle {
  private readonly localQueue: CandidateSignal[] = [];
  private send: ((c: CandidateSignal) => void) | undefined;
  private inSdp = new Set<string>();
  private readonly remoteQueue: RemoteCandidate[] = [];
  private remoteSet = false;

  constructor(
    private readonly peer: EnginePeer,
    private readonly iceAddress: string | undefined,
  ) {
    peer.onLocalCandidate((c) => {
      if (!candidateAllowed(c.candidate, iceAddress)) return;
      const msg: CandidateSignal = { kind: 'candidate', ...c };
      if (!this.send) this.localQueue.push(msg);
      else if (!this.inSdp.has(candidateKey(c.candidate))) this.send(msg);
    });
  }

  /** Our SDP is sent: flush queued local candidates through `send` and send later ones directly. */
  localReady(send: (c: CandidateSignal) => void, alreadyInSdp: Set<string>): void {
    this.send = send;
    this.inSdp = alreadyInSdp;
    for (const m of this.localQueue.splice(0)) if (!alreadyInSdp.has(candidateKey(m.candidate))) send(m);
  }

  /** The remote description is set: apply queued remote candidates. */
  async remoteReady(): Promise<void> {
    this.remoteSet = true;
    for (const c of this.remoteQueue.splice(0)) await this.apply(c);
  }

  async addRemote(c: RemoteCandidate): Promise<void> {
    if (!this.remoteSet) this.remoteQueue.push(c);
    else await this.apply(c);
  }

  private async apply(c: RemoteCandidate): Promise<void> {
    if (!c.candidate) return; // end-of-candidates from a browser
    try {
      await this.peer.addRemoteCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
    } catch {
      // A candidate we cannot use (unknown mid, a protocol werift lacks) is not fatal: ICE uses the others.
    }
  }
}
