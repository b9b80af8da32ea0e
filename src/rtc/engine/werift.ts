/**
 * The werift engine: a werift RTCPeerConnection behind the EnginePeer seam (engine/types.ts). Media commands reach the
 * RTCPeerConnection itself through `pc`. werift is imported lazily (createPeerConnection), so `--help` stays instant.
 */
import type { RTCDataChannel, RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import type { IceConfig } from '../ice-config.js';
import { createPeerConnection, describeSelectedPair, dtlsProofFailure } from '../peer-connection.js';
import { bundleRemoteCandidate, bundleRemoteDescription } from '../sdp-bundle.js';
import type { CandidateInit, ChannelState, EnginePeer, FileChannel, PeerState, SelectedPair } from './types.js';

/** werift slows down above ~512 KiB buffered and starves its event loop at a few MiB (docs: werift notes). */
export const WERIFT_HIGH_WATER = 512 * 1024;
export const WERIFT_LOW_WATER = 256 * 1024;

/** The DTLS binding of code sessions (docs/peer-auth.md §DTLS binding, src/rtc/auth/binding.ts). */
/** RFC 5705 §4: labels beginning with "EXPERIMENTAL" are for private use. */
export const EXPORTER_LABEL = 'EXPERIMENTAL-rtc-cli-dtls-binding-v1';
export const EXPORTER_LENGTH = 32;

/** The exporter value of every connected DTLS transport of `pc`, in transport order (one with BUNDLE). */
export function dtlsExporters(pc: RTCPeerConnection): string[] {
  const out: string[] = [];
  for (const t of pc.dtlsTransports) {
    if (!t.dtls) continue;
    out.push(Buffer.from(t.dtls.exportKeyingMaterial(EXPORTER_LABEL, EXPORTER_LENGTH)).toString('base64url'));
  }
  return out;
}

export class WeriftFileChannel implements FileChannel {
  readonly highWater = WERIFT_HIGH_WATER;
  readonly lowWater = WERIFT_LOW_WATER;
  readonly copiesOnSend = false;
  constructor(private readonly dc: RTCDataChannel) {
    dc.bufferedAmountLowThreshold = WERIFT_LOW_WATER;
  }
  get readyState(): ChannelState {
    return this.dc.readyState;
  }
  get bufferedAmount(): number {
    return this.dc.bufferedAmount;
  }
  send(data: string | Buffer): void {
    this.dc.send(data);
  }
  onMessage(fn: (m: string | Buffer) => void): void {
    this.dc.onMessage.subscribe(fn);
  }
  onState(fn: (s: ChannelState) => void): () => void {
    const sub = this.dc.stateChanged.subscribe(fn);
    return () => sub.unSubscribe();
  }
  onBufferedLow(fn: () => void): () => void {
    // werift has no onbufferedamountlow property: its Event is the way in.
    const sub = this.dc.bufferedAmountLow.subscribe(fn);
    return () => sub.unSubscribe();
  }
}

export class WeriftPeer implements EnginePeer {
  readonly engine = 'werift' as const;
  constructor(readonly pc: RTCPeerConnection) {}

  async createOffer(): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
  }

  async createAnswer(): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createAnswer());
  }

  localSdp(): string {
    return this.pc.localDescription?.sdp ?? '';
  }

  async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    try {
      // RFC 8843 BUNDLE as the remote means it (bundle-only sections, per-section ICE credentials): src/rtc/sdp-bundle.ts
      await this.pc.setRemoteDescription({ type, sdp: bundleRemoteDescription(this.pc, sdp) });
    } catch (e) {
      throw new RtcError('RTC_ERR_PROTOCOL', `the peer's ${type} was not accepted: ${(e as Error)?.message || 'invalid SDP'}`, { cause: e });
    }
  }

  async addRemoteCandidate(c: CandidateInit): Promise<void> {
    const r = bundleRemoteCandidate(this.pc, c); // to the BUNDLE tag's transport, or dropped (RFC 8843 §10)
    if (!r) return;
    await this.pc.addIceCandidate({ candidate: r.candidate, sdpMid: r.sdpMid ?? undefined, sdpMLineIndex: r.sdpMLineIndex ?? undefined });
  }

  onLocalCandidate(fn: (c: CandidateInit) => void): void {
    this.pc.onIceCandidate.subscribe((c) => {
      // undefined = end of gathering; nothing to send (peers treat a missing end-of-candidates as "maybe more").
      if (!c || !c.candidate) return;
      fn({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null });
    });
  }

  async gatheringComplete(timeoutMs: number): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return;
    const d = deferred<void>();
    const sub = this.pc.iceGatheringStateChange.subscribe((s) => {
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

  get connectionState(): PeerState {
    return this.pc.connectionState;
  }

  onConnectionState(fn: (s: PeerState) => void): () => void {
    const sub = this.pc.connectionStateChange.subscribe(fn);
    return () => sub.unSubscribe();
  }

  onTransportClosed(fn: (why: string) => void): void {
    // werift reports a remote DTLS close_notify / SCTP ABORT through the SCTP transport's state.
    this.pc.sctpTransport?.sctp.stateChanged.closed.subscribe(() => fn('the peer closed the data connection'));
    for (const t of this.pc.dtlsTransports) {
      t.onStateChange.subscribe((s) => {
        if (s === 'closed' || s === 'failed') fn(`the DTLS transport ${s}`);
      });
    }
  }

  selectedPair(): SelectedPair | undefined {
    return describeSelectedPair(this.pc);
  }

  dtlsExporters(): string[] {
    return dtlsExporters(this.pc);
  }

  dtlsProofFailure(): string | undefined {
    return dtlsProofFailure(this.pc);
  }

  createChannel(label: string, id: number): FileChannel {
    return new WeriftFileChannel(this.pc.createDataChannel(label, { negotiated: true, id, ordered: true }));
  }

  /**
   * werift's pc.close() tells the remote nothing (it then waits ~30 s for ICE consent to expire, RFC 7675 §5.1), but
   * closing a data channel resets its SCTP stream (RFC 8831 §6.7), which the remote sees at once.
   */
  async close(): Promise<void> {
    const channels = Object.values(this.pc.sctpTransport?.dataChannels ?? {});
    for (const dc of channels) {
      try {
        if (dc.readyState === 'open') dc.close();
      } catch {
        /* already closing */
      }
    }
    if (channels.length) await new Promise((r) => setTimeout(r, 100));
    try {
      await this.pc.close();
    } catch {
      /* already closed */
    }
  }
}

/** A werift peer from the shared ICE flags; `extra` carries werift-only options (media codecs, bundle policy, sctp). */
export async function createWeriftPeer(ice: IceConfig, extra?: Partial<RTCPeerConnectionConfig>): Promise<WeriftPeer> {
  return new WeriftPeer(await createPeerConnection(ice, extra));
}
