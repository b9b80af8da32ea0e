/**
 * Room negotiation (docs/peer-signaling.md): meet the other peer in a signaling room, decide who offers (the later
 * joiner), optionally prove the code (docs/peer-auth.md), then offer/answer with trickle ICE.
 *
 *   join (plain room, or the nameplate room of a code) → [code exchange → sealed from here] → pc + setup
 *     → offer/answer → connected [→ DTLS binding check in code mode]
 */
import { RtcError } from '../../errors.js';
import { exchangeCodec, sealedCodec, stoppedByPeer } from '../auth/codecs.js';
import { creatorExchange, joinerExchange } from '../auth/handshake.js';
import { verifyDtlsBinding } from '../auth/binding.js';
import type { AuthFail } from '../auth/messages.js';
import type { ConnectedCheck, SessionAttempt } from './attempt.js';
import { meet, type Meeting } from './meeting.js';
import { defaultSignaling } from './signaling.js';
import { plainCodec, SignalPipe, type Relayed } from './signal-pipe.js';
import { describeLocal, Trickle } from './trickle.js';
import type { EnginePeer } from '../engine/types.js';
import type { PeerSession, PeerSignal, PeerSignaling } from './types.js';

export async function negotiateRoom(a: SessionAttempt): Promise<PeerSession> {
  const { opts } = a;
  if (!opts.auth && !opts.room) throw new RtcError('RTC_ERR_USAGE', 'a room is needed to meet the peer');
  const sig = await openSignaling(a);
  const pipe = new SignalPipe(sig, opts.auth ? exchangeCodec : plainCodec, (e) => a.fail(e));
  a.sendSignal = (s) => pipe.send(s);
  sig.onPeerJoined((id) => {
    a.emit({ type: 'peer-joined', peerId: id });
    if (!opts.auth) a.peerSeen();
  });
  sig.onPeerLeft((id) => {
    if (id === pipe.remoteId) a.markLeft('the peer left the room');
  });
  const meeting = await meet(a, sig);
  if (meeting.remoteId !== undefined) lock(a, pipe, meeting.remoteId);
  if (!opts.auth) return negotiate(a, pipe, meeting);
  try {
    await authenticate(a, pipe, meeting);
    return await negotiate(a, pipe, meeting, (p) => verifyDtlsBinding(pipe, p));
  } catch (e) {
    if (a.authenticated) tellTampered(pipe, e);
    throw e;
  }
}

/** Peer connection, offer/answer with trickle, connected (and the code mode's check once DTLS is up). */
async function negotiate(a: SessionAttempt, pipe: SignalPipe, meeting: Meeting, check?: ConnectedCheck): Promise<PeerSession> {
  const peer = await a.createPeer(meeting.role, true);
  const trickle = new Trickle(peer, a.opts.ice.iceAddress);
  pipe.route(['candidate', 'bye'], (m) => route(a, pipe, trickle, m));
  if (meeting.role === 'offerer') await offer(a, pipe, peer, trickle);
  else await answer(a, pipe, peer, trickle);
  return a.connected(meeting.role, check);
}

/**
 * We detected tampering after the exchange (a bad box, an unsealed payload, a DTLS binding mismatch): tell the peer,
 * sealed, so it stops with the same error instead of waiting for its timeout.
 */
function tellTampered(pipe: SignalPipe, e: unknown): void {
  if (!(e instanceof RtcError) || e.code !== 'RTC_ERR_PEER_AUTH' || stoppedByPeer(e)) return;
  try {
    pipe.send({ kind: 'auth-fail', reason: 'tampered' } satisfies AuthFail);
  } catch {
    /* signaling already gone */
  }
}

async function openSignaling(a: SessionAttempt): Promise<PeerSignaling> {
  const connect = a.opts.connectSignaling ?? defaultSignaling;
  const sig = await a.race(connect(a.opts.signal, a.opts.token, a.ac.signal));
  a.signaling = sig;
  a.emit({ type: 'signaling-connected', url: a.opts.signal });
  sig.onError((err) => a.fail(err));
  return sig;
}

function lock(a: SessionAttempt, pipe: SignalPipe, id: string): void {
  pipe.lockRemote(id);
  a.remoteId = id;
}

/** The code exchange; afterwards every payload is sealed. */
async function authenticate(a: SessionAttempt, pipe: SignalPipe, meeting: Meeting): Promise<void> {
  const w = await a.race(meeting.w!);
  const race = <T>(p: Promise<T>): Promise<T> => a.race(p);
  let channel;
  if (meeting.role === 'offerer') {
    a.emit({ type: 'authenticating', peerId: pipe.remoteId! });
    channel = await joinerExchange(pipe, w, race);
  } else {
    channel = await creatorExchange(pipe, w, race, (id) => {
      a.remoteId = id;
      a.peerSeen('authenticating');
      a.emit({ type: 'authenticating', peerId: id });
    });
  }
  pipe.setCodec(sealedCodec(channel));
  a.authenticated = true;
  a.peerSeen('connecting');
  a.emit({ type: 'authenticated', peerId: pipe.remoteId! });
}

/** Candidates and bye, during and after negotiation. A bye before the remote is known is not ours. */
function route(a: SessionAttempt, pipe: SignalPipe, trickle: Trickle, m: Relayed): void {
  const s = m.msg as PeerSignal;
  if (s.kind === 'candidate') void trickle.addRemote(s);
  else if (s.kind === 'bye' && pipe.remoteId !== undefined) a.markLeft('the peer hung up');
}

function sendDescription(a: SessionAttempt, pipe: SignalPipe, kind: 'offer' | 'answer', peer: EnginePeer, trickle: Trickle): void {
  const { sdp, inSdp } = describeLocal(peer, a.opts.ice.iceAddress);
  pipe.send({ kind, sdp } satisfies PeerSignal);
  trickle.localReady((c) => pipe.send(c), inSdp);
}

async function offer(a: SessionAttempt, pipe: SignalPipe, peer: EnginePeer, trickle: Trickle): Promise<void> {
  a.emit({ type: 'connecting', role: 'offerer', peerId: pipe.remoteId });
  a.setupStart = Date.now();
  await a.race(peer.createOffer());
  sendDescription(a, pipe, 'offer', peer, trickle);
  const answer = await a.race(pipe.next<Extract<PeerSignal, { kind: 'answer' }>>(['answer']));
  await a.race(peer.applyRemote('answer', answer.msg.sdp));
  await a.race(trickle.remoteReady());
}

async function answer(a: SessionAttempt, pipe: SignalPipe, peer: EnginePeer, trickle: Trickle): Promise<void> {
  const offerMsg = await a.race(pipe.next<Extract<PeerSignal, { kind: 'offer' }>>(['offer']));
  lock(a, pipe, offerMsg.from);
  a.peerSeen();
  a.emit({ type: 'connecting', role: 'answerer', peerId: offerMsg.from });
  a.setupStart = Date.now();
  await a.race(peer.applyRemote('offer', offerMsg.msg.sdp));
  await a.race(trickle.remoteReady());
  await a.race(peer.createAnswer());
  sendDescription(a, pipe, 'answer', peer, trickle);
}
