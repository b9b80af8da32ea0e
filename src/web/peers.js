// One RTCPeerConnection per remote peer, negotiated as docs/peer-signaling.md says, so any pair talks: the LATER
// joiner creates the offer (for each peer already in the room); the earlier one answers. Payloads:
//   {kind:'offer'|'answer', sdp}   {kind:'candidate', candidate, sdpMid, sdpMLineIndex} (trickle ICE, RFC 8838)   {kind:'bye'}
// How they travel is the connection's route: the room's relay (room.js), or a code session's sealed channel
// (auth/session.js, docs/peer-auth.md). A media connection always has one video and one audio transceiver and the
// chat channel; every connection has the file channel (files/peer.js).
import { cameraAudio, outgoingStream, outgoingVideo } from './capture.js';
import { CHAT_CHANNEL, setupChat, updateChatButton } from './chat.js';
import { attachFiles } from './files/peer.js';
import { params, state } from './state.js';
import { StatsSampler } from './stats.js';
import { $, log, notice, setPill } from './ui.js';

/**
 * @typedef {object} Route how a connection's signaling payloads travel
 * @property {'room'|'code'} kind
 * @property {(payload: object, to: string) => void} send
 * @property {(c: object) => void} [onCreated] called when a connection on this route is made
 * @property {(c: object) => void} [onConnected] called once when the connection is up
 * @property {(c: object) => void} [onClosed] called when it is closed
 */

function iceConfig() {
  const servers = params.getAll('ice').map((urls) => {
    const s = { urls };
    if (urls.startsWith('turn')) {
      s.username = params.get('iceUsername') ?? '';
      s.credential = params.get('iceCredential') ?? '';
    }
    return s;
  });
  // No public STUN server by default (the CLI peers use none either): host candidates work on a LAN.
  return { iceServers: servers, iceTransportPolicy: params.get('relayOnly') === '1' ? 'relay' : 'all' };
}

export function renderPeers() {
  const ul = $('peers');
  ul.replaceChildren();
  if (!state.myId) {
    ul.appendChild(Object.assign(document.createElement('li'), { className: 'dim', textContent: 'not in a room' }));
    return;
  }
  const me = document.createElement('li');
  me.textContent = `${state.myId} (this page)`;
  ul.appendChild(me);
  for (const c of state.conns.values()) {
    if (c.route.kind !== 'room') continue;
    const li = document.createElement('li');
    li.textContent = `${c.id} — ${c.pc.connectionState} (${c.role})`;
    li.dataset.peer = c.id;
    ul.appendChild(li);
  }
}

function addCard(remoteId, route) {
  const card = $('conn-template').content.firstElementChild.cloneNode(true);
  card.dataset.peer = remoteId;
  card.querySelector('.peer-id').textContent = route.kind === 'code' ? `${remoteId} (code session)` : remoteId;
  const conns = $('connections');
  if (!conns.querySelector('article')) conns.replaceChildren();
  conns.appendChild(card);
  return card;
}

/** A new connection to `remoteId` (replacing an old one); `media: false` for file-only sessions (codes). */
export function createConn(remoteId, role, route, { media = true } = {}) {
  const old = state.conns.get(remoteId);
  if (old) closeConn(old);
  const pc = new RTCPeerConnection(iceConfig());
  const card = addCard(remoteId, route);
  const c = { id: remoteId, role, route, media, pc, card, dc: null, videoTx: null, audioTx: null, remoteSet: false, pendingRemote: [], sampler: new StatsSampler(pc) };
  state.conns.set(remoteId, c);
  // Channels are negotiated with fixed ids (docs/peer-signaling.md: every rtc-cli channel is), so both roles create
  // them before negotiation and it does not matter who offers.
  if (media) setupChat(c, pc.createDataChannel(CHAT_CHANNEL.label, { negotiated: true, id: CHAT_CHANNEL.id }));
  attachFiles(c);
  pc.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    route.send({ kind: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }, remoteId);
  };
  pc.ontrack = (e) => showRemoteTrack(c, e.track);
  pc.onconnectionstatechange = () => onConnectionState(c);
  route.onCreated?.(c);
  renderPeers();
  return c;
}

function showRemoteTrack(c, track) {
  const v = c.card.querySelector('video.remote');
  v.hidden = false;
  c.card.querySelector('.no-media').hidden = true;
  const stream = v.srcObject instanceof MediaStream ? v.srcObject : new MediaStream();
  if (!stream.getTracks().includes(track)) stream.addTrack(track);
  v.srcObject = stream;
  v.play().catch(() => {});
  log(`receiving ${track.kind} from ${c.id}`);
}

function onConnectionState(c) {
  const s = c.pc.connectionState;
  setPill(c.card.querySelector('.conn-state'), s);
  log(`peer ${c.id}: ${s}`);
  if (s === 'connected') {
    applyBitrate(c);
    if (!c.wasConnected) c.route.onConnected?.(c);
    c.wasConnected = true;
  }
  if (s === 'failed') notice(`The connection to ${c.id} failed: no ICE candidate pair works (firewall/NAT). A TURN server may be needed (?ice=turn:host:3478).`);
  renderPeers();
}

export function closeConn(c) {
  c.files?.close('the connection was closed');
  try {
    c.dc?.close();
    c.pc.close();
  } catch {
    /* already closed */
  }
  c.card.remove();
  if (state.conns.get(c.id) === c) state.conns.delete(c.id);
  c.route.onClosed?.(c);
  if (!$('connections').querySelector('article')) $('connections').replaceChildren(Object.assign(document.createElement('p'), { className: 'dim', textContent: 'No connection.' }));
  updateChatButton();
  renderPeers();
}

export async function makeOffer(remoteId, route, opts = {}) {
  const c = createConn(remoteId, 'offerer', route, opts);
  if (c.media) {
    const v = outgoingVideo();
    const a = cameraAudio();
    const stream = outgoingStream();
    // Always one video and one audio transceiver, sendrecv even with no track yet: a later camera start or source
    // switch is a replaceTrack(), and the same offer lets a CLI `publish` send back to us.
    c.videoTx = c.pc.addTransceiver(v ?? 'video', { direction: 'sendrecv', streams: [stream] });
    c.audioTx = c.pc.addTransceiver(a ?? 'audio', { direction: 'sendrecv', streams: [stream] });
  }
  await c.pc.setLocalDescription(await c.pc.createOffer());
  route.send({ kind: 'offer', sdp: c.pc.localDescription.sdp }, remoteId);
  log(`sent offer to ${remoteId}`);
  return c;
}

async function onOffer(route, from, sdp, opts) {
  let c = state.conns.get(from);
  if (!c || c.route !== route || c.pc.signalingState === 'closed' || (c.role === 'offerer' && c.pc.signalingState !== 'stable')) c = createConn(from, 'answerer', route, opts);
  await c.pc.setRemoteDescription({ type: 'offer', sdp });
  c.remoteSet = true;
  if (c.media) await attachTracks(c);
  await c.pc.setLocalDescription(await c.pc.createAnswer());
  route.send({ kind: 'answer', sdp: c.pc.localDescription.sdp }, from);
  log(`answered ${from}`);
  await flushCandidates(c);
}

/** Attach our tracks to the transceivers the offer created (one per m= line of each kind). */
async function attachTracks(c) {
  for (const tx of c.pc.getTransceivers()) {
    const kind = tx.receiver.track?.kind;
    if (kind === 'video' && !c.videoTx) c.videoTx = tx;
    else if (kind === 'audio' && !c.audioTx) c.audioTx = tx;
    else continue;
    tx.direction = 'sendrecv';
    const t = kind === 'video' ? outgoingVideo() : cameraAudio();
    if (t) await tx.sender.replaceTrack(t);
    tx.sender.setStreams?.(outgoingStream());
  }
}

async function flushCandidates(c) {
  const list = c.pendingRemote.splice(0);
  for (const cand of list) await addCandidate(c, cand);
}

async function addCandidate(c, d) {
  try {
    await c.pc.addIceCandidate({ candidate: d.candidate, sdpMid: d.sdpMid ?? undefined, sdpMLineIndex: d.sdpMLineIndex ?? undefined });
  } catch (e) {
    log(`ignored a bad candidate from ${c.id}: ${e.message}`);
  }
}

/**
 * One payload from `from` over `route` (already unsealed for a code session). Unknown kinds and malformed payloads
 * are ignored (docs/peer-signaling.md); a negotiation that fails is reported, never thrown.
 */
export async function handleSignal(route, from, data, opts = {}) {
  if (!data || typeof data !== 'object' || typeof from !== 'string') return;
  try {
    if (data.kind === 'offer' && typeof data.sdp === 'string') {
      await onOffer(route, from, data.sdp, opts);
    } else if (data.kind === 'bye') {
      const c = state.conns.get(from);
      if (c && c.route === route) closeConn(c);
    } else if (data.kind === 'answer' && typeof data.sdp === 'string') {
      const c = state.conns.get(from);
      if (!c || c.route !== route || c.pc.signalingState !== 'have-local-offer') return;
      await c.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
      c.remoteSet = true;
      log(`got answer from ${from}`);
      await flushCandidates(c);
    } else if (data.kind === 'candidate' && typeof data.candidate === 'string') {
      let c = state.conns.get(from);
      // Candidates can overtake the offer: keep them until the remote description is set (browsers reject early ones).
      if (!c || c.route !== route) c = createConn(from, 'answerer', route, opts);
      if (c.remoteSet) await addCandidate(c, data);
      else c.pendingRemote.push(data);
    }
  } catch (e) {
    notice(`Negotiation with ${from} failed: ${e.message}`);
  }
}

export async function applyBitrate(c) {
  const sender = c.videoTx?.sender;
  if (!sender || !sender.getParameters) return;
  const p = sender.getParameters();
  if (!p.encodings || p.encodings.length === 0) p.encodings = [{}]; // Firefox before negotiation
  for (const enc of p.encodings) {
    if (state.maxBitrateKbps) enc.maxBitrate = state.maxBitrateKbps * 1000;
    else delete enc.maxBitrate;
  }
  // ?degradation=maintain-framerate|maintain-resolution|balanced: what the encoder gives up first when CPU or
  // bandwidth runs short (WebRTC 1.0 RTCDegradationPreference; Chromium honours it, others ignore it).
  const deg = params.get('degradation');
  if (deg && ['maintain-framerate', 'maintain-resolution', 'balanced'].includes(deg)) p.degradationPreference = deg;
  try {
    await sender.setParameters(p);
    $('bitrate-state').textContent = state.maxBitrateKbps ? `video capped at ${state.maxBitrateKbps} kbps` : 'no cap';
  } catch (e) {
    $('bitrate-state').textContent = `setParameters failed: ${e.message}`;
  }
}

/** Sample getStats() of every connection once a second for its card (stats.js). */
export function startStatsLoop(render) {
  setInterval(async () => {
    for (const c of state.conns.values()) {
      if (c.pc.connectionState === 'closed') continue;
      try {
        const s = await c.sampler.sample();
        state.lastStats[c.id] = s;
        render(c.card, s);
      } catch {
        /* pc closed meanwhile */
      }
    }
  }, 1000);
}
