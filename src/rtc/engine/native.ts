/**
 * The native engine: node-datachannel (libdatachannel, C++) behind the EnginePeer seam (engine/types.ts). It is an
 * optionalDependency with prebuilt binaries per platform; engine/load.ts imports it lazily and says so when it cannot.
 *
 * What libdatachannel does differently from werift, and how this adapter keeps the wire the same:
 *  - ICE servers are `{hostname, port, username, password, relayType}` objects (TurnUdp/TurnTcp/TurnTls), not URLs;
 *    the list is always explicit, as for werift (no public STUN default either way).
 *  - `bindAddress` confines gathering AND the sockets to one address (`--ice-address`); without it every interface is
 *    gathered, as werift does. `iceTransportPolicy: 'relay'` is `--relay-only`.
 *  - Candidates arrive as `a=candidate:...` with the m-section's mid; the relayed form has no `a=` (RFC 8839 §5.1).
 *  - libjuice answers ICE checks before the remote description is set. An offerer whose candidates are in the offer
 *    can then get the answerer's DTLS ClientHello before the answer, i.e. before it knows the fingerprint to check
 *    the certificate against, and fails the handshake ("unknown CA"). So with trickle ICE the native offerer keeps
 *    its candidates out of the offer and trickles them once the answer is applied (RFC 8838 allows an offer without
 *    candidates); the answerer then cannot reach it any earlier. Costs one signaling trip. Manual negotiation has no
 *    trickle: there a native answerer applies an offer made by libdatachannel without its candidates and lets the
 *    offerer's checks (sent once it has the answer) find it, learning the offerer as a peer-reflexive candidate
 *    (RFC 8445 §7.3.1.3). Its own candidates are in the answer; the one thing lost is the answerer's own checks
 *    towards the offerer, which only a NAT on the answerer's side that filters by address would need.
 *  - The selected pair comes from `getSelectedCandidatePair()` (the pair libjuice sends on).
 *  - The DTLS exporter is not exposed: `dtlsExporters()` is null. libdatachannel's DTLS (OpenSSL/GnuTLS) verifies the
 *    peer's handshake signatures and the certificate's fingerprint against the (sealed) SDP, like a browser, so the
 *    code session's binding check (docs/peer-auth.md §DTLS binding) is kept by that side: it only sends its binding
 *    message once its own DTLS is up with a peer that holds the authenticated certificate's key.
 */
import type * as Ndc from 'node-datachannel';
import { RtcError } from '../../errors.js';
import { deferred } from '../deferred.js';
import { parseIceServerUrl, type IceConfig } from '../ice-config.js';
import type { CandidateInit, ChannelState, EnginePeer, EnginePeerOptions, FileChannel, PeerState, SelectedEndpoint, SelectedPair } from './types.js';

type NdcModule = Pick<typeof Ndc, 'PeerConnection'>;

/**
 * libdatachannel keeps its send queue in C++ and pushes from its own thread, so a deeper buffer than werift's costs
 * no event-loop time and keeps the SCTP window full (measured in bench/datachannel).
 */
export const NATIVE_HIGH_WATER = 4 * 1024 * 1024;
export const NATIVE_LOW_WATER = 1024 * 1024;

class NativeFileChannel implements FileChannel {
  readonly highWater = NATIVE_HIGH_WATER;
  readonly lowWater = NATIVE_LOW_WATER;
  /** rtc::DataChannel::send(const byte*, size_t) copies into a message before it returns. */
  readonly copiesOnSend = true;
  private state: ChannelState = 'connecting';
  private readonly stateFns = new Set<(s: ChannelState) => void>();
  private readonly lowFns = new Set<() => void>();
  private readonly messageFns: ((m: string | Buffer) => void)[] = [];

  constructor(private readonly dc: Ndc.DataChannel) {
    // node-datachannel hands each kind of callback to JavaScript through its own thread-safe function (one uv_async
    // handle each), and libuv services the older handle first. So the peer's last message (an `error` saying why it
    // stopped) and the channel close right behind it on the wire (RFC 6525 reset after the last TSN) could reach us
    // close first: subscribe to messages before anything else, and report a close one turn later (setImmediate runs
    // after the poll phase that dispatched both).
    dc.onMessage((m) => {
      const msg = typeof m === 'string' || Buffer.isBuffer(m) ? m : Buffer.from(m);
      for (const fn of this.messageFns) fn(msg);
    });
    dc.setBufferedAmountLowThreshold(NATIVE_LOW_WATER);
    dc.onOpen(() => this.set('open'));
    dc.onClosed(() => setImmediate(() => this.set('closed')));
    dc.onError(() => setImmediate(() => this.set('closed')));
    dc.onBufferedAmountLow(() => {
      for (const fn of [...this.lowFns]) fn();
    });
    if (dc.isOpen()) this.state = 'open';
  }

  private set(s: ChannelState): void {
    if (this.state === s || this.state === 'closed') return;
    this.state = s;
    for (const fn of [...this.stateFns]) fn(s);
  }

  get readyState(): ChannelState {
    return this.state;
  }
  get bufferedAmount(): number {
    return this.state === 'closed' ? 0 : this.dc.bufferedAmount();
  }
  send(data: string | Buffer): void {
    // Closed or closing: drop, as werift does (see below); the link learns of the close through onState.
    if (this.state === 'closing' || this.state === 'closed') return;
    if (this.state !== 'open') throw new RtcError('RTC_ERR_PEER_LEFT', 'the transfer channel is not open yet');
    // false only means "queued, not yet sent"; a closed channel throws.
    try {
      if (typeof data === 'string') this.dc.sendMessage(data);
      else this.dc.sendMessageBinary(data);
    } catch (e) {
      // The peer closed the channel underneath us and its last messages (e.g. an `error` or a refusing `ack` sent just
      // before closing) may still wait in the event loop. Drop what we send, as werift does on a closed channel: the
      // close arrives through onState, and the transfer then ends with the peer's own reason when it sent one,
      // instead of a bare "DataChannel is closed" from libdatachannel.
      if (!this.dc.isOpen()) return;
      throw e;
    }
  }
  /** Listeners attach synchronously after creation (transfer/channel.ts HeldChannel), before any message can arrive. */
  onMessage(fn: (m: string | Buffer) => void): void {
    this.messageFns.push(fn);
  }
  onState(fn: (s: ChannelState) => void): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }
  onBufferedLow(fn: () => void): () => void {
    this.lowFns.add(fn);
    return () => this.lowFns.delete(fn);
  }
  close(): void {
    if (this.state === 'open' || this.state === 'connecting') {
      this.set('closing');
      this.dc.close();
    }
  }
}

/** `a=candidate:...` (libdatachannel) → `candidate:...` (the relayed form). */
function bare(candidate: string): string {
  return candidate.startsWith('a=') ? candidate.slice(2) : candidate;
}

/** The first m-section's mid (a candidate relayed without one belongs there: we bundle everything). */
function firstMid(sdp: string): string {
  return /^a=mid:(\S+)/m.exec(sdp)?.[1] ?? '0';
}

/** The o= line libdatachannel writes (RFC 8866 §5.2 username "rtc"). */
const LIBDATACHANNEL_ORIGIN = /^o=rtc /m;

function withoutCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
    .join('\r\n');
}

export class NativePeer implements EnginePeer {
  readonly engine = 'native' as const;
  private state: PeerState = 'new';
  private readonly stateFns = new Set<(s: PeerState) => void>();
  private readonly candidateFns: ((c: CandidateInit) => void)[] = [];
  private readonly channels: NativeFileChannel[] = [];
  /** Offerer under trickle ICE: local candidates wait here until the answer is applied (see the module comment). */
  private held: CandidateInit[] | undefined;
  private gathered = deferred<void>();
  private remoteMid = '0';
  private closed = false;
  /** ICE reached connected/completed (a failure after that is DTLS's, see dtlsProofFailure). */
  private iceUp = false;
  private everConnected = false;

  constructor(
    private readonly pc: Ndc.PeerConnection,
    private readonly o: EnginePeerOptions,
  ) {
    pc.onIceStateChange((s) => {
      if (s === 'connected' || s === 'completed') this.iceUp = true;
    });
    pc.onStateChange((s) => this.setState(s as PeerState));
    pc.onGatheringStateChange((s) => {
      if (s === 'complete') this.gathered.resolve();
    });
    pc.onLocalCandidate((candidate, mid) => {
      const c: CandidateInit = { candidate: bare(candidate), sdpMid: mid || null, sdpMLineIndex: 0 };
      if (this.held) this.held.push(c);
      else for (const fn of this.candidateFns) fn(c);
    });
  }

  private setState(s: PeerState): void {
    if (this.state === s || this.state === 'closed') return;
    this.state = s;
    if (s === 'connected') this.everConnected = true;
    for (const fn of [...this.stateFns]) fn(s);
  }

  private call(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      throw new RtcError('RTC_ERR_PROTOCOL', `${what}: ${(e as Error)?.message || String(e)}`, { cause: e });
    }
  }

  async createOffer(): Promise<void> {
    if (this.o.trickle) this.held = [];
    this.call('libdatachannel could not create an offer', () => this.pc.setLocalDescription('offer'));
  }

  async createAnswer(): Promise<void> {
    this.call('libdatachannel could not create an answer', () => this.pc.setLocalDescription('answer'));
  }

  localSdp(): string {
    const sdp = this.pc.localDescription()?.sdp ?? '';
    return this.held ? withoutCandidates(sdp) : sdp;
  }

  async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    // See the module comment: a libdatachannel offerer without trickle must not be reached before it has our answer.
    const early = type === 'offer' && !this.o.trickle && LIBDATACHANNEL_ORIGIN.test(sdp);
    try {
      this.pc.setRemoteDescription(early ? withoutCandidates(sdp) : sdp, type);
    } catch (e) {
      throw new RtcError('RTC_ERR_PROTOCOL', `the peer's ${type} was not accepted: ${(e as Error)?.message || 'invalid SDP'}`, { cause: e });
    }
    this.remoteMid = firstMid(sdp);
    if (type === 'answer' && this.held) {
      const held = this.held;
      this.held = undefined;
      for (const c of held) for (const fn of this.candidateFns) fn(c);
    }
  }

  async addRemoteCandidate(c: CandidateInit): Promise<void> {
    this.pc.addRemoteCandidate(c.candidate, c.sdpMid ?? this.remoteMid);
  }

  onLocalCandidate(fn: (c: CandidateInit) => void): void {
    this.candidateFns.push(fn);
  }

  async gatheringComplete(timeoutMs: number): Promise<void> {
    if (this.pc.gatheringState() === 'complete') return;
    const t = setTimeout(() => this.gathered.resolve(), timeoutMs);
    try {
      await this.gathered.promise;
    } finally {
      clearTimeout(t);
    }
  }

  get connectionState(): PeerState {
    return this.state;
  }

  onConnectionState(fn: (s: PeerState) => void): () => void {
    this.stateFns.add(fn);
    return () => this.stateFns.delete(fn);
  }

  onTransportClosed(): void {
    // libdatachannel reports a remote DTLS close or SCTP ABORT as the connection state (closed/failed) and resets
    // the channels; both already reach the session (onConnectionState, the channel's state).
  }

  selectedPair(): SelectedPair | undefined {
    let p: ReturnType<Ndc.PeerConnection['getSelectedCandidatePair']>;
    try {
      p = this.pc.getSelectedCandidatePair();
    } catch {
      return undefined; // closed
    }
    if (!p) return undefined;
    const endpoint = (c: Ndc.SelectedCandidateInfo): SelectedEndpoint => ({
      type: c.type,
      protocol: c.transportType.toLowerCase().startsWith('tcp') ? 'tcp' : 'udp',
      address: c.address,
      port: c.port,
    });
    const local = endpoint(p.local);
    const remote = endpoint(p.remote);
    return { local, remote, path: local.type === 'relay' || remote.type === 'relay' ? 'relayed' : 'direct' };
  }

  dtlsExporters(): null {
    return null;
  }

  /**
   * libdatachannel fails a DTLS handshake inside OpenSSL/GnuTLS and reports only the connection state. ICE that came
   * up followed by a connection that failed before it was ever connected is that handshake refusing the peer: a
   * certificate other than the one the description's a=fingerprint names (RFC 8122 §5), or a handshake signature
   * or Finished that does not verify (RFC 5246 §7.4). (A peer that vanished in the few milliseconds of the
   * handshake would read the same; its room-mate then sees it leave.)
   */
  dtlsProofFailure(): string | undefined {
    if (this.state !== 'failed' || !this.iceUp || this.everConnected) return undefined;
    return 'the DTLS handshake failed after ICE had connected: its certificate is not the one the fingerprint in its description names, or its handshake did not verify';
  }

  createChannel(label: string, id: number): FileChannel {
    const ch = new NativeFileChannel(this.pc.createDataChannel(label, { negotiated: true, id }));
    this.channels.push(ch);
    return ch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels) {
      try {
        ch.close();
      } catch {
        /* already closing */
      }
    }
    // Let the stream reset leave before the association goes (the remote then knows at once, RFC 8831 §6.7).
    if (this.channels.length) await new Promise((r) => setTimeout(r, 100));
    try {
      this.pc.close();
    } catch {
      /* already closed */
    }
    this.setState('closed');
  }
}

/** The libdatachannel ICE server list for an IceConfig (pure; exported for tests). */
export function nativeIceServers(ice: IceConfig): Ndc.IceServer[] {
  return ice.iceServers.map((s) => {
    const u = parseIceServerUrl(s.urls);
    if (u.scheme === 'stun' || u.scheme === 'stuns') return { hostname: u.host, port: u.port };
    const relayType = u.scheme === 'turns' ? 'TurnTls' : u.transport === 'tcp' ? 'TurnTcp' : 'TurnUdp';
    return { hostname: u.host, port: u.port, username: s.username, password: s.credential, relayType };
  });
}

/** A libdatachannel peer connection from the shared ICE flags. */
export function createNativePeer(ndc: NdcModule, ice: IceConfig, o: EnginePeerOptions): NativePeer {
  const config: Ndc.RtcConfig = {
    iceServers: nativeIceServers(ice),
    iceTransportPolicy: ice.relayOnly ? 'relay' : 'all',
    // We call setLocalDescription ourselves, after the channels exist (negotiated channels, no renegotiation).
    disableAutoNegotiation: true,
    enableIceTcp: false,
  };
  if (ice.iceAddress) config.bindAddress = ice.iceAddress;
  return new NativePeer(new ndc.PeerConnection('rtc-cli', config), o);
}
