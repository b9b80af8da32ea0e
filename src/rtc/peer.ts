/**
 * The peer session every peer command uses (send-file, recv-file, record, publish): join a room through the signaling
 * server (or exchange SDP by copy/paste), decide who offers, run trickle ICE, and hand back a connected
 * RTCPeerConnection with the selected candidate pair.
 *
 * Roles: the later joiner offers (it sees the earlier peer in `joined.peers`), so two peers never offer at once and
 * no perfect-negotiation rollback is needed. The payloads relayed between the peers are documented in
 * docs/peer-signaling.md; the companion browser page implements the same.
 *
 * Trickle ICE (RFC 8838): werift emits candidates before setLocalDescription() resolves, so local candidates are
 * queued until our SDP is sent, and remote candidates are queued until the remote description is set (RFC 8838 §4:
 * a candidate can only be applied to a known m-section).
 */
import type { RTCPeerConnection, RTCPeerConnectionConfig } from 'werift';
import { interruptError, RtcError, toRtcError } from '../errors.js';
import type { IceConfig } from './ice-config.js';
import type { JoinResult, RelayedMessage } from '../signaling/types.js';
import {
  candidateAllowed,
  createPeerConnection,
  describeSelectedPair,
  filterSdpCandidates,
  type SelectedPair,
} from './peer-connection.js';
import { deferred } from './deferred.js';
import { encodeManualLine, linesOf, readManualLine, type ManualKind } from './manual-signal.js';
import { bundleRemoteCandidate, bundleRemoteDescription } from './sdp-bundle.js';

export type { SelectedPair } from './peer-connection.js';

export type PeerRole = 'offerer' | 'answerer';

/** Progress of connectPeer, for rendering (spinner text, NDJSON events). `type` is stable. */
export type PeerEvent =
  | { type: 'signaling-connected'; url: string }
  | { type: 'joined'; room: string; id: string; peers: number }
  | { type: 'waiting-for-peer'; room: string }
  | { type: 'peer-joined'; peerId: string }
  | { type: 'connecting'; role: PeerRole; peerId?: string }
  | { type: 'manual-offer'; line: string }
  | { type: 'manual-answer'; line: string }
  | { type: 'manual-waiting'; expect: ManualKind }
  | { type: 'connected'; path: 'direct' | 'relayed'; selectedPair: SelectedPair; setupMs: number }
  | { type: 'peer-left'; reason: string };

/** Relayed payloads (docs/peer-signaling.md). Unknown kinds are ignored so both sides can add kinds later. */
export type PeerSignal =
  | { kind: 'offer'; sdp: string }
  | { kind: 'answer'; sdp: string }
  | { kind: 'candidate'; candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }
  | { kind: 'bye'; reason?: string };

/** The part of the signaling client the peer session uses (src/signaling/client.ts implements it). */
export interface PeerSignaling {
  join(room: string): Promise<JoinResult>;
  send(to: string, data: unknown): void;
  onPeerJoined(fn: (id: string) => void): void;
  onPeerLeft(fn: (id: string) => void): void;
  onMessage(fn: (msg: RelayedMessage) => void): void;
  /** Fatal signaling errors (the server refused us, the connection is gone for good). */
  onError(fn: (err: Error) => void): void;
  close(): Promise<void>;
}

export interface ManualOptions {
  /** Where the offer/answer line is printed (one call, one line, no newline). */
  output: (line: string) => void;
  /** Where the other side's line is read from (stdin). */
  input: AsyncIterable<string> | NodeJS.ReadableStream;
  /** Which side prints the offer. Default 'offerer' (send-file offers, recv-file answers). */
  role?: PeerRole;
}

export interface PeerSessionOptions {
  ice: IceConfig;
  /** ws(s):// URL of the signaling server, or 'manual' for copy/paste SDP. */
  signal: string;
  room?: string;
  token?: string;
  /** No peer within this → RTC_ERR_NO_PEER; a peer but no connection within this → RTC_ERR_ICE_FAILED. */
  timeoutMs: number;
  abort?: AbortSignal;
  /** Add tracks/transceivers/data channels before negotiation; role tells which side we are. */
  setup?: (pc: RTCPeerConnection, role: PeerRole) => void | Promise<void>;
  manual?: ManualOptions;
  onEvent?: (e: PeerEvent) => void;
  /** Extra werift options (e.g. sctp settings). The ICE-related ones come from `ice`. */
  peerConfig?: Partial<RTCPeerConnectionConfig>;
  /** Test seam / alternative transports: build the signaling connection. Default: src/signaling/client.ts. */
  connectSignaling?: (url: string, token: string | undefined, abort: AbortSignal) => Promise<PeerSignaling>;
  /**
   * How long a "disconnected" ICE/DTLS state may last before the peer counts as gone (consent freshness,
   * RFC 7675 §5.1, gives up after ~30 s; we decide sooner). Default 8000 ms.
   */
  disconnectGraceMs?: number;
}

export interface PeerSession {
  pc: RTCPeerConnection;
  role: PeerRole;
  remoteId?: string;
  selectedPair: SelectedPair;
  path: 'direct' | 'relayed';
  /** From the start of negotiation (offer created or received) to the connection being up, in ms. */
  setupMs: number;
  /** Resolves when the remote leaves the room, closes the connection, or ICE fails. Never rejects. */
  peerLeft: Promise<void>;
  /** Why peerLeft resolved (undefined while the peer is there). */
  readonly leftReason: string | undefined;
  /** Close the peer connection and leave the room. Idempotent. */
  close(): Promise<void>;
}

/** How long we wait for ICE gathering to complete before printing a manual offer/answer anyway. */
const MANUAL_GATHER_TIMEOUT_MS = 10_000;

function isSignal(d: unknown): d is PeerSignal {
  if (typeof d !== 'object' || d === null) return false;
  const o = d as Record<string, unknown>;
  switch (o.kind) {
    case 'offer':
    case 'answer':
      return typeof o.sdp === 'string' && o.sdp.length > 0;
    case 'candidate':
      return typeof o.candidate === 'string';
    case 'bye':
      return true;
    default:
      return false;
  }
}

/** The real signaling client (src/signaling/client.ts), adapted to what the peer session needs. */
async function defaultSignaling(url: string, token: string | undefined, abort: AbortSignal): Promise<PeerSignaling> {
  const { SignalingClient } = await import('../signaling/client.js');
  const sc = await SignalingClient.connect({ url, token, signal: abort });
  // Server `error` replies (e.g. relaying to a peer that just left) are not fatal here: peer-left and the timeout
  // decide. An EventEmitter 'error' without a listener would throw, so there always is one.
  sc.on('error', () => {});
  return {
    join: (room) => sc.join(room),
    send: (to, data) => sc.send(data, to),
    onPeerJoined: (fn) => void sc.on('peer-joined', fn),
    onPeerLeft: (fn) => void sc.on('peer-left', fn),
    onMessage: (fn) => void sc.on('message', fn),
    onError: (fn) =>
      void sc.on('closed', (err) => {
        if (err) fn(err);
      }),
    close: async () => {
      try {
        await sc.leave();
      } catch {
        /* closing anyway */
      }
      await sc.close();
    },
  };
}

/** Wait for the connection (DTLS up) or fail. Resolves with nothing; rejects with RtcError. */
function waitConnected(pc: RTCPeerConnection, done: Promise<never>): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  const d = deferred<void>();
  const sub = pc.connectionStateChange.subscribe((s) => {
    if (s === 'connected') d.resolve();
    else if (s === 'failed' || s === 'closed') {
      d.reject(new RtcError('RTC_ERR_ICE_FAILED', `the connection ${s === 'failed' ? 'failed' : 'was closed'} before it came up (ICE/DTLS)`, {
        hint: 'no candidate pair worked: check firewalls, or add a TURN server with --ice-server turn:... (and --relay-only to force it)',
      }));
    }
  });
  return Promise.race([d.promise, done]).finally(() => sub.unSubscribe());
}

/**
 * Connect to one remote peer. Resolves once the peer connection is up (DTLS connected). Rejects with RtcError:
 * RTC_ERR_NO_PEER, RTC_ERR_ICE_FAILED, RTC_ERR_SIGNAL_*, RTC_ERR_BAD_SDP (manual mode), RTC_ERR_INTERRUPTED.
 */
export async function connectPeer(opts: PeerSessionOptions): Promise<PeerSession> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(opts.abort?.reason);
  if (opts.abort?.aborted) throw interruptError(opts.abort.reason);
  opts.abort?.addEventListener('abort', onAbort, { once: true });

  const emit = (e: PeerEvent): void => {
    try {
      opts.onEvent?.(e);
    } catch {
      /* a rendering bug must not break the session */
    }
  };

  // Everything that can end the attempt early rejects `failure`: timeout, abort, fatal signaling error.
  const failure = deferred<never>();
  failure.promise.catch(() => {});
  let peerSeen = false;
  const timer = setTimeout(() => {
    failure.reject(
      peerSeen
        ? new RtcError('RTC_ERR_ICE_FAILED', `could not connect to the peer within ${opts.timeoutMs / 1000} s`, {
            hint: 'no candidate pair worked: check firewalls, or add a TURN server with --ice-server turn:... (and --relay-only to force it)',
          })
        : new RtcError(
            'RTC_ERR_NO_PEER',
            opts.signal === 'manual'
              ? `no answer/offer was pasted within ${opts.timeoutMs / 1000} s`
              : `no peer joined room "${opts.room}" within ${opts.timeoutMs / 1000} s`,
            { hint: 'start the other side with the same --room and --signal (or raise --timeout)' },
          ),
    );
  }, opts.timeoutMs);
  ac.signal.addEventListener('abort', () => failure.reject(interruptError(ac.signal.reason)), { once: true });

  // Every await below races the failure (timeout/abort): no werift call may hang the session past --timeout.
  const race = <T>(p: Promise<T> | T): Promise<T> => Promise.race([Promise.resolve(p), failure.promise]);
  let pc: RTCPeerConnection | undefined;
  let signaling: PeerSignaling | undefined;
  let remoteId: string | undefined;
  const left = deferred<void>();
  let leftReason: string | undefined;
  const markLeft = (reason: string): void => {
    if (leftReason !== undefined) return;
    leftReason = reason;
    emit({ type: 'peer-left', reason });
    left.resolve();
    // Still negotiating? Then there is nothing to wait for (after connecting nobody races `failure` any more).
    failure.reject(new RtcError('RTC_ERR_PEER_LEFT', `${reason} before the connection was up`, { hint: 'start the other side again' }));
  };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    opts.abort?.removeEventListener('abort', onAbort);
    // werift's pc.close() tells the remote nothing (it then waits ~30 s for ICE consent to expire, RFC 7675 §5.1), but
    // closing a data channel resets its SCTP stream (RFC 8831 §6.7), which the remote sees at once. And over
    // signaling, a `bye` says the same to peers without data channels.
    if (signaling && remoteId !== undefined && leftReason === undefined) {
      try {
        signaling.send(remoteId, { kind: 'bye' } satisfies PeerSignal);
      } catch {
        /* signaling already gone */
      }
    }
    const channels = Object.values(pc?.sctpTransport?.dataChannels ?? {});
    for (const dc of channels) {
      try {
        if (dc.readyState === 'open') dc.close();
      } catch {
        /* already closing */
      }
    }
    if (channels.length) await new Promise((r) => setTimeout(r, 100));
    try {
      await pc?.close();
    } catch {
      /* already closed */
    }
    try {
      await signaling?.close();
    } catch {
      /* already gone */
    }
  };

  try {
    const manual = opts.signal === 'manual';
    let role: PeerRole;
    let setupStart = 0;

    if (manual) {
      if (!opts.manual) throw new RtcError('RTC_ERR_USAGE', '--signal manual needs an input and an output (internal wiring)');
      role = opts.manual.role ?? 'offerer';
      pc = await createPeerConnection(opts.ice, opts.peerConfig);
      await race(opts.setup?.(pc, role));
      setupStart = Date.now();
      await race(negotiateManual(pc, role, opts, emit, () => (peerSeen = true)));
    } else {
      if (!opts.room) throw new RtcError('RTC_ERR_USAGE', 'a room is needed (--room <name>)');
      const connect = opts.connectSignaling ?? defaultSignaling;
      signaling = await Promise.race([connect(opts.signal, opts.token, ac.signal), failure.promise]);
      const sig = signaling;
      emit({ type: 'signaling-connected', url: opts.signal });
      sig.onError((err) => failure.reject(toRtcError(err)));

      // Messages can arrive before we are ready for them (the offer right after peer-joined): buffer until handled.
      const inbox: RelayedMessage[] = [];
      let deliver: ((m: RelayedMessage) => void) | undefined;
      sig.onMessage((m) => {
        if (!isSignal(m.data)) return; // not ours (an app message, a newer kind): ignore, never crash
        if (remoteId !== undefined && m.from !== remoteId) return;
        if (deliver) deliver(m);
        else inbox.push(m);
      });
      const joinedPeer = deferred<string>();
      sig.onPeerJoined((id) => {
        emit({ type: 'peer-joined', peerId: id });
        peerSeen = true;
        joinedPeer.resolve(id);
      });
      sig.onPeerLeft((id) => {
        if (id === remoteId) markLeft('the peer left the room');
      });

      const join = await Promise.race([sig.join(opts.room), failure.promise]);
      emit({ type: 'joined', room: join.room, id: join.id, peers: join.peers.length });
      if (join.peers.length > 0) {
        role = 'offerer';
        remoteId = join.peers[0];
        peerSeen = true;
      } else {
        role = 'answerer';
        emit({ type: 'waiting-for-peer', room: opts.room });
      }

      pc = await createPeerConnection(opts.ice, opts.peerConfig);
      await race(opts.setup?.(pc, role));
      const trickle = startTrickle(pc, opts.ice.iceAddress);

      if (role === 'offerer') {
        const to = remoteId!;
        emit({ type: 'connecting', role, peerId: to });
        setupStart = Date.now();
        await race(pc.setLocalDescription(await race(pc.createOffer())));
        const sent = sendDescription(sig, to, 'offer', pc, opts.ice.iceAddress);
        trickle.localReady((c) => sig.send(to, c), sent);
        const answer = await Promise.race([nextSignal(inbox, (f) => (deliver = f), 'answer', trickle, () => markLeft('the peer hung up')), failure.promise]);
        await race(applyRemote(pc, 'answer', answer.sdp));
        await race(trickle.remoteReady());
      } else {
        const offerMsg = await Promise.race([nextSignalMsg(inbox, (f) => (deliver = f), 'offer', trickle, () => undefined), failure.promise]);
        remoteId = offerMsg.from;
        peerSeen = true;
        const to = remoteId;
        emit({ type: 'connecting', role, peerId: to });
        setupStart = Date.now();
        await race(applyRemote(pc, 'offer', (offerMsg.data as { sdp: string }).sdp));
        await race(trickle.remoteReady());
        await race(pc.setLocalDescription(await race(pc.createAnswer())));
        const sent = sendDescription(sig, to, 'answer', pc, opts.ice.iceAddress);
        trickle.localReady((c) => sig.send(to, c), sent);
      }
      // After negotiation, candidates keep flowing through `deliver`.
      deliver = (m) => {
        const d = m.data as PeerSignal;
        if (d.kind === 'candidate') void trickle.addRemote(d);
        else if (d.kind === 'bye') markLeft('the peer hung up');
      };
      for (const m of inbox.splice(0)) deliver(m);
      void joinedPeer; // peer-joined is only progress: the offer itself tells the answerer who the peer is
    }

    await waitConnected(pc, failure.promise);
    const setupMs = Date.now() - setupStart;
    clearTimeout(timer);
    const selectedPair = describeSelectedPair(pc);
    if (!selectedPair) throw new RtcError('RTC_ERR_INTERNAL', 'connected but werift reports no selected candidate pair');
    emit({ type: 'connected', path: selectedPair.path, selectedPair, setupMs });

    watchConnection(pc, opts.disconnectGraceMs ?? 8000, markLeft, () => closed);
    const livePc = pc;
    return {
      pc: livePc,
      role,
      remoteId,
      selectedPair,
      path: selectedPair.path,
      setupMs,
      peerLeft: left.promise,
      get leftReason() {
        return leftReason;
      },
      close,
    };
  } catch (e) {
    await close();
    throw toRtcError(e);
  }
}

/** setRemoteDescription, with werift's bare Errors about a bad remote SDP turned into RTC_ERR_PROTOCOL. */
async function applyRemote(pc: RTCPeerConnection, type: 'offer' | 'answer', sdp: string): Promise<void> {
  try {
    // RFC 8843 BUNDLE as the remote means it (bundle-only sections, per-section ICE credentials): src/rtc/sdp-bundle.ts
    await pc.setRemoteDescription({ type, sdp: bundleRemoteDescription(pc, sdp) });
  } catch (e) {
    throw new RtcError('RTC_ERR_PROTOCOL', `the peer's ${type} was not accepted: ${(e as Error)?.message || 'invalid SDP'}`, { cause: e });
  }
}

/** After connecting: ICE failure, DTLS close, or a long "disconnected" mean the peer is gone. */
function watchConnection(pc: RTCPeerConnection, graceMs: number, markLeft: (r: string) => void, isClosed: () => boolean): void {
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

interface Trickle {
  /** Our SDP is sent: flush queued local candidates through `send` and send later ones directly. */
  localReady(send: (c: PeerSignal) => void, alreadyInSdp: Set<string>): void;
  /** The remote description is set: apply queued remote candidates. */
  remoteReady(): Promise<void>;
  addRemote(c: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): Promise<void>;
}

function startTrickle(pc: RTCPeerConnection, iceAddress: string | undefined): Trickle {
  const localQueue: PeerSignal[] = [];
  let send: ((c: PeerSignal) => void) | undefined;
  let inSdp = new Set<string>();
  pc.onIceCandidate.subscribe((c) => {
    // undefined = end of gathering; nothing to send (peers treat a missing end-of-candidates as "maybe more").
    if (!c || !c.candidate) return;
    if (!candidateAllowed(c.candidate, iceAddress)) return;
    const msg: PeerSignal = { kind: 'candidate', candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
    if (send) {
      if (!inSdp.has(candidateKey(c.candidate))) send(msg);
    } else localQueue.push(msg);
  });
  const remoteQueue: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }[] = [];
  let remoteSet = false;
  const apply = async (c: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): Promise<void> => {
    if (!c.candidate) return; // end-of-candidates from a browser
    const r = bundleRemoteCandidate(pc, c); // to the BUNDLE tag's transport, or dropped (RFC 8843 §10)
    if (!r) return;
    try {
      await pc.addIceCandidate({ candidate: r.candidate, sdpMid: r.sdpMid ?? undefined, sdpMLineIndex: r.sdpMLineIndex ?? undefined });
    } catch {
      // A candidate we cannot use (unknown mid, a protocol werift lacks) is not fatal: ICE uses the others.
    }
  };
  return {
    localReady(s, alreadyInSdp) {
      send = s;
      inSdp = alreadyInSdp;
      for (const m of localQueue.splice(0)) {
        if (m.kind === 'candidate' && inSdp.has(candidateKey(m.candidate))) continue;
        s(m);
      }
    },
    async remoteReady() {
      remoteSet = true;
      for (const c of remoteQueue.splice(0)) await apply(c);
    },
    async addRemote(c) {
      if (!remoteSet) remoteQueue.push(c);
      else await apply(c);
    },
  };
}

/** Candidates are compared without the a= prefix and trailing extensions' order. */
function candidateKey(line: string): string {
  return line.replace(/^a=/, '').replace(/^candidate:/, '').trim().split(/\s+/).slice(0, 8).join(' ');
}

function sendDescription(sig: PeerSignaling, to: string, kind: 'offer' | 'answer', pc: RTCPeerConnection, iceAddress: string | undefined): Set<string> {
  const sdp = filterSdpCandidates(pc.localDescription!.sdp, iceAddress);
  sig.send(to, { kind, sdp } satisfies PeerSignal);
  const inSdp = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) if (line.startsWith('a=candidate:')) inSdp.add(candidateKey(line));
  return inSdp;
}

/** Wait for the next relayed message of `kind`; candidates that arrive first go to the trickle queue. */
function nextSignalMsg(
  inbox: RelayedMessage[],
  setDeliver: (f: (m: RelayedMessage) => void) => void,
  kind: 'offer' | 'answer',
  trickle: Trickle,
  onBye: () => void,
): Promise<RelayedMessage> {
  const d = deferred<RelayedMessage>();
  const handle = (m: RelayedMessage): boolean => {
    const s = m.data as PeerSignal;
    if (s.kind === kind) {
      d.resolve(m);
      return true;
    }
    if (s.kind === 'candidate') void trickle.addRemote(s);
    else if (s.kind === 'bye') onBye();
    return false;
  };
  while (inbox.length) {
    const m = inbox.shift()!;
    if (handle(m)) return d.promise;
  }
  setDeliver((m) => {
    if (!handle(m)) return;
  });
  return d.promise;
}

async function nextSignal(
  inbox: RelayedMessage[],
  setDeliver: (f: (m: RelayedMessage) => void) => void,
  kind: 'offer' | 'answer',
  trickle: Trickle,
  onBye: () => void,
): Promise<{ sdp: string }> {
  const m = await nextSignalMsg(inbox, setDeliver, kind, trickle, onBye);
  return m.data as { sdp: string };
}

/** Wait until ICE gathering is complete (or give up after a bound: a slow STUN/TURN server must not hang us). */
async function gatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
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

/**
 * Manual mode: no trickle. The offerer prints its complete offer (after gathering) as one line and reads the answer
 * line; the answerer reads the offer line and prints its answer line.
 */
async function negotiateManual(
  pc: RTCPeerConnection,
  role: PeerRole,
  opts: PeerSessionOptions,
  emit: (e: PeerEvent) => void,
  sawPeer: () => void,
): Promise<void> {
  const manual = opts.manual!;
  const lines = linesOf(manual.input)[Symbol.asyncIterator]();
  try {
    await negotiateManualLines(pc, role, opts, emit, sawPeer, lines);
  } finally {
    // Stop reading stdin (closes the readline interface) so it does not keep the process alive.
    await lines.return?.(undefined);
  }
}

async function negotiateManualLines(
  pc: RTCPeerConnection,
  role: PeerRole,
  opts: PeerSessionOptions,
  emit: (e: PeerEvent) => void,
  sawPeer: () => void,
  lines: AsyncIterator<string>,
): Promise<void> {
  const manual = opts.manual!;
  const localLine = async (type: 'offer' | 'answer'): Promise<string> => {
    await gatheringComplete(pc, MANUAL_GATHER_TIMEOUT_MS);
    const sdp = filterSdpCandidates(pc.localDescription!.sdp, opts.ice.iceAddress);
    return encodeManualLine({ type, sdp });
  };
  if (role === 'offerer') {
    await pc.setLocalDescription(await pc.createOffer());
    const line = await localLine('offer');
    manual.output(line);
    emit({ type: 'manual-offer', line });
    emit({ type: 'manual-waiting', expect: 'answer' });
    const answer = await readManualLine(lines, 'answer');
    sawPeer();
    emit({ type: 'connecting', role });
    await applyRemote(pc, 'answer', answer.sdp);
  } else {
    emit({ type: 'manual-waiting', expect: 'offer' });
    const offer = await readManualLine(lines, 'offer');
    sawPeer();
    emit({ type: 'connecting', role });
    await applyRemote(pc, 'offer', offer.sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    const line = await localLine('answer');
    manual.output(line);
    emit({ type: 'manual-answer', line });
  }
}
