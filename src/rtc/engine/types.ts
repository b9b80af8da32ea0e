/**
 * The data-channel engine seam: the one small interface the peer session (src/rtc/session) and the file transfer
 * (src/rtc/transfer) use, so that the WebRTC stack under send-file/recv-file can be werift (pure TypeScript) or
 * node-datachannel (libdatachannel, C++). Media (record, publish) stays on werift and reaches its RTCPeerConnection
 * through `WeriftPeer.pc` (engine/werift.ts).
 *
 * Both implementations speak the same wire: SDP offer/answer with trickled candidates (docs/peer-signaling.md), one
 * negotiated data channel per use (RFC 8832's DCEP is not used, so it does not matter who offers), DTLS fingerprints
 * in the SDP (RFC 8842).
 */

export type EngineName = 'werift' | 'native';
export type EngineChoice = EngineName | 'auto';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'werift', 'native'];

/** A trickled ICE candidate, as relayed (docs/peer-signaling.md): `candidate:...` without `a=`. */
export interface CandidateInit {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** RTCPeerConnectionState as both engines report it. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export type ChannelState = 'connecting' | 'open' | 'closing' | 'closed';

/** What the file transfer needs from a data channel. */
export interface FileChannel {
  readonly readyState: ChannelState;
  /** Bytes queued for sending and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Keep bufferedAmount under this (the engine's sweet spot: werift slows down above ~512 KiB). */
  readonly highWater: number;
  /** The buffered-low event fires when bufferedAmount drops to this. */
  readonly lowWater: number;
  /**
   * send() copies a Buffer before it returns, so the caller may reuse it at once (node-datachannel copies into a C++
   * message; werift queues references to the caller's bytes until the peer acknowledges them).
   */
  readonly copiesOnSend: boolean;
  send(data: string | Buffer): void;
  onMessage(fn: (m: string | Buffer) => void): void;
  onState(fn: (s: ChannelState) => void): () => void;
  /** Call `fn` when bufferedAmount falls under lowWater. Returns the unsubscribe function. */
  onBufferedLow(fn: () => void): () => void;
}

export interface SelectedEndpoint {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

export interface SelectedPair {
  local: SelectedEndpoint;
  remote: SelectedEndpoint;
  /** "relayed" when either side of the pair is a TURN relay candidate, "direct" otherwise. */
  path: 'direct' | 'relayed';
}

/** One peer connection of either engine. Every method that talks to the network side returns or rejects, never hangs. */
export interface EnginePeer {
  readonly engine: EngineName;
  /** Create an offer (or, after an offer was applied, an answer) and make it the local description. */
  createOffer(): Promise<void>;
  createAnswer(): Promise<void>;
  /** The local description as it stands now (candidates gathered so far may be inside). */
  localSdp(): string;
  /** Apply the peer's description; a description the engine refuses is RTC_ERR_PROTOCOL. */
  applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void>;
  /** Apply one trickled candidate. Rejections are for the caller to ignore (ICE has the others). */
  addRemoteCandidate(c: CandidateInit): Promise<void>;
  /** Local candidates as they are gathered (end-of-candidates is not reported). */
  onLocalCandidate(fn: (c: CandidateInit) => void): void;
  /** Resolve when gathering is complete or after `timeoutMs`, whichever is first. */
  gatheringComplete(timeoutMs: number): Promise<void>;
  readonly connectionState: PeerState;
  onConnectionState(fn: (s: PeerState) => void): () => void;
  /** The remote closed the association underneath (DTLS close_notify, SCTP ABORT/SHUTDOWN): the peer is gone. */
  onTransportClosed(fn: (why: string) => void): void;
  /** The pair ICE selected (RFC 8445 §8.1.1) that carries the data, or undefined before ICE connected. */
  selectedPair(): SelectedPair | undefined;
  /**
   * The RFC 5705 exporter of each connected DTLS transport (docs/peer-auth.md §DTLS binding), or null when the
   * engine cannot read it; such an engine must verify the DTLS handshake signatures itself (libdatachannel and
   * browsers do, werift does not).
   */
  dtlsExporters(): string[] | null;
  /**
   * Why the peer failed to prove its DTLS identity, when the engine refused it for that: a certificate other than the
   * one its description's fingerprint names (RFC 8122 §5), a signature or Finished that does not verify (RFC 5246
   * §7.4.3/§7.4.8/§7.4.9); undefined otherwise. werift reports the signatures with patch 008 (patches/README.md);
   * libdatachannel only says the connection failed, which after ICE came up can only be the handshake.
   */
  dtlsProofFailure(): string | undefined;
  /** The file-transfer channel: negotiated, id `id`, reliable and ordered (RFC 8831 §6.6). Create before negotiating. */
  createChannel(label: string, id: number): FileChannel;
  /** Close the data channels (an SCTP stream reset the remote sees at once, RFC 8831 §6.7), then the connection. */
  close(): Promise<void>;
}

/** Options every engine takes besides the ICE configuration. */
export interface EnginePeerOptions {
  /**
   * Room negotiation (trickle ICE): a peer may keep its candidates back until it has applied the answer (see
   * engine/native.ts for why libdatachannel needs that). Manual negotiation sends everything in one description.
   */
  trickle: boolean;
}
