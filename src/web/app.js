// The companion camera page: joins a room on the rtc-cli signaling server, captures camera/microphone/screen, and sends
// them to every other peer in the room (a CLI `record`, another page) while showing what they send (a CLI `publish`).
//
// Negotiation follows docs/peer-signaling.md, the same rule the CLI peers use, so any pair talks: the LATER joiner
// creates the offer (for each peer already in the room); the earlier one answers. Relay payloads:
//   {kind:'offer'|'answer', sdp}   and   {kind:'candidate', candidate, sdpMid, sdpMLineIndex}   (trickle ICE, RFC 8838)
// Sources are switched (camera ⇄ screen ⇄ canvas effect) with RTCRtpSender.replaceTrack(), which needs no renegotiation
// (WebRTC 1.0 §5.2), so the page offers/answers once and always keeps a video and an audio transceiver.

import { SignalingClient, defaultSignalUrl } from './signaling.js';
import { constraintsFromForm, applyUrlParamsToForm, listDevices, explainMediaError, getUserMedia, describeSettings } from './media.js';
import { EffectPipeline } from './effects.js';
import { StatsSampler, renderStats } from './stats.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const state = {
  sig: null,
  myId: null,
  room: null,
  /** @type {Map<string, any>} remote peer id → connection */
  conns: new Map(),
  camera: null, // MediaStream from getUserMedia
  screenTrack: null,
  pipeline: null,
  recorder: null,
  maxBitrateKbps: null,
  lastStats: {},
  chat: [],
  errors: [],
};
// For people poking in devtools and for the automated tests (test/media/page.test.ts).
window.rtcPage = state;

// ---------------------------------------------------------------------------------------------------------------- UI
function log(msg) {
  const el = $('log');
  const line = `${new Date().toISOString().slice(11, 23)} ${msg}\n`;
  el.textContent = (el.textContent + line).split('\n').slice(-200).join('\n');
}

function notice(msg, kind = 'error') {
  const el = $('notice');
  if (!msg) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.className = kind;
  el.textContent = msg;
  if (kind === 'error') state.errors.push(msg);
  log(`${kind}: ${msg}`);
}

function setPill(el, s, text = s) {
  el.dataset.state = s;
  el.textContent = text;
}

function renderPeers() {
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
    const li = document.createElement('li');
    li.textContent = `${c.id} — ${c.pc.connectionState} (${c.role})`;
    li.dataset.peer = c.id;
    ul.appendChild(li);
  }
}

// ----------------------------------------------------------------------------------------------------------- sources
function cameraVideo() {
  return state.camera?.getVideoTracks()[0] ?? null;
}
function cameraAudio() {
  return state.camera?.getAudioTracks()[0] ?? null;
}
/** The video track that is actually sent: effect canvas > screen > camera. */
function outgoingVideo() {
  return state.pipeline?.track ?? state.screenTrack ?? cameraVideo();
}
function outgoingStream() {
  return new MediaStream([outgoingVideo(), cameraAudio()].filter(Boolean));
}

async function updateOutgoing() {
  const v = outgoingVideo();
  const a = cameraAudio();
  $('local').srcObject = v || a ? outgoingStream() : null;
  $('source').textContent = state.screenTrack ? 'screen' : v ? 'camera' : a ? 'microphone only' : 'none';
  if (state.pipeline) $('source').textContent += ` + ${state.pipeline.effect} effect`;
  $('settings').textContent = describeSettings(state.camera ? new MediaStream([...(state.screenTrack ? [state.screenTrack] : []), ...state.camera.getTracks()]) : state.screenTrack ? new MediaStream([state.screenTrack]) : null);
  const live = Boolean(v || a);
  $('stop').disabled = !live;
  $('apply').disabled = !state.camera;
  $('snapshot').disabled = !v;
  $('rec-start').disabled = !live || Boolean(state.recorder);
  for (const c of state.conns.values()) {
    try {
      if (c.videoTx && c.videoTx.sender.track !== v) await c.videoTx.sender.replaceTrack(v);
      if (c.audioTx && c.audioTx.sender.track !== a) await c.audioTx.sender.replaceTrack(a);
    } catch (e) {
      log(`replaceTrack for ${c.id} failed: ${e.message}`);
    }
  }
}

async function startCamera() {
  notice('');
  const constraints = constraintsFromForm();
  if (!constraints.video && !constraints.audio) {
    notice('Tick "send video" or "send audio" first.', 'info');
    return false;
  }
  let stream;
  try {
    stream = await getUserMedia(constraints);
  } catch (e) {
    const what = constraints.video && constraints.audio ? 'camera and microphone' : constraints.video ? 'camera' : 'microphone';
    notice(explainMediaError(e, what));
    return false;
  }
  if (state.camera) for (const t of state.camera.getTracks()) t.stop();
  state.camera = stream;
  for (const t of stream.getTracks()) {
    t.onended = () => {
      log(`${t.kind} track ended (device unplugged or permission revoked)`);
      updateOutgoing();
    };
  }
  if (state.pipeline && !state.screenTrack) restartEffect();
  log(`captured ${stream.getTracks().map((t) => `${t.kind}: ${t.label}`).join(', ')}`);
  await listDevices().catch(() => {});
  await updateOutgoing();
  return true;
}

function stopAll() {
  if (state.recorder) state.recorder.stop();
  if (state.pipeline) state.pipeline.stop();
  state.pipeline = null;
  $('canvas-effect').value = 'none';
  if (state.screenTrack) state.screenTrack.stop();
  state.screenTrack = null;
  $('screen').textContent = 'Share screen';
  if (state.camera) for (const t of state.camera.getTracks()) t.stop();
  state.camera = null;
  updateOutgoing();
}

async function toggleScreen() {
  if (state.screenTrack) {
    stopScreen();
    return;
  }
  if (!navigator.mediaDevices?.getDisplayMedia) {
    notice('This browser cannot share the screen (no getDisplayMedia; mobile browsers usually lack it).');
    return;
  }
  try {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    state.screenTrack = s.getVideoTracks()[0];
    // The browser's own "Stop sharing" button ends the track: fall back to the camera.
    state.screenTrack.onended = () => stopScreen();
    $('screen').textContent = 'Stop sharing';
    log(`sharing screen: ${state.screenTrack.label}`);
    if (state.pipeline) restartEffect();
    await updateOutgoing();
  } catch (e) {
    notice(explainMediaError(e, 'screen'));
  }
}

function stopScreen() {
  if (!state.screenTrack) return;
  state.screenTrack.onended = null;
  state.screenTrack.stop();
  state.screenTrack = null;
  $('screen').textContent = 'Share screen';
  log('screen sharing stopped; back to the camera');
  if (state.pipeline) restartEffect();
  updateOutgoing();
}

function restartEffect() {
  const effect = $('canvas-effect').value;
  if (state.pipeline) state.pipeline.stop();
  state.pipeline = null;
  const src = state.screenTrack ?? cameraVideo();
  if (effect !== 'none' && src) state.pipeline = new EffectPipeline(src, effect, Number($('c-frameRate').value) || 30);
}

// ------------------------------------------------------------------------------------------------ snapshot, recording
function snapshot() {
  const video = $('local');
  if (!video.videoWidth) {
    notice('No video frame yet: start the camera first.', 'info');
    return null;
  }
  const canvas = $('snapshot-canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  // Bake the preview-only CSS filter into the picture where the canvas supports it (not Safari < 18).
  if ('filter' in ctx) ctx.filter = $('css-filter').value;
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => {
    canvas.toBlob((blob) => {
      if (!blob) {
        notice('The browser could not encode the snapshot.');
        resolve(null);
        return;
      }
      const a = $('snapshot-link');
      if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(blob);
      a.download = `snapshot-${new Date().toISOString().replace(/[:.]/g, '-')}.png`;
      a.hidden = false;
      a.textContent = `download snapshot (${canvas.width}×${canvas.height}, ${Math.round(blob.size / 1024)} KiB)`;
      log(`snapshot ${canvas.width}x${canvas.height} ${blob.size} bytes`);
      a.click();
      resolve(blob);
    }, 'image/png');
  });
}

function pickRecorderType() {
  if (typeof MediaRecorder === 'undefined') return null;
  const types = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm', 'video/mp4;codecs=avc1,mp4a', 'video/mp4'];
  return types.find((t) => MediaRecorder.isTypeSupported?.(t)) ?? '';
}

function startRecording() {
  const type = pickRecorderType();
  if (type === null) {
    notice('This browser has no MediaRecorder.');
    return;
  }
  const chunks = [];
  const rec = new MediaRecorder(outgoingStream(), type ? { mimeType: type } : undefined);
  const started = performance.now();
  const tick = setInterval(() => {
    const s = Math.floor((performance.now() - started) / 1000);
    $('rec-elapsed').textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }, 250);
  rec.ondataavailable = (e) => {
    if (e.data.size > 0) chunks.push(e.data);
  };
  rec.onerror = (e) => notice(`Recording failed: ${e.error?.message ?? 'unknown error'}`);
  rec.onstop = () => {
    clearInterval(tick);
    state.recorder = null;
    const mime = rec.mimeType || type || 'video/webm';
    const blob = new Blob(chunks, { type: mime });
    const ext = mime.startsWith('video/mp4') ? 'mp4' : 'webm';
    const a = $('rec-link');
    if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(blob);
    a.download = `recording-${new Date().toISOString().replace(/[:.]/g, '-')}.${ext}`;
    a.hidden = false;
    a.textContent = `download recording (${$('rec-elapsed').textContent}, ${Math.round(blob.size / 1024)} KiB)`;
    $('rec-start').disabled = false;
    $('rec-stop').disabled = true;
    log(`local recording: ${blob.size} bytes ${mime}`);
    a.click();
  };
  rec.start(1000); // a chunk per second: a long recording does not sit in one huge buffer
  state.recorder = rec;
  $('rec-format').textContent = rec.mimeType || type;
  $('rec-start').disabled = true;
  $('rec-stop').disabled = false;
  log(`local recording started (${rec.mimeType || type})`);
}

// ------------------------------------------------------------------------------------------------------ connections
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

function createConn(remoteId, role) {
  const old = state.conns.get(remoteId);
  if (old) closeConn(old);
  const pc = new RTCPeerConnection(iceConfig());
  const card = $('conn-template').content.firstElementChild.cloneNode(true);
  card.dataset.peer = remoteId;
  card.querySelector('.peer-id').textContent = remoteId;
  const conns = $('connections');
  if (!conns.querySelector('article')) conns.replaceChildren();
  conns.appendChild(card);
  const c = {
    id: remoteId,
    role,
    pc,
    card,
    dc: null,
    videoTx: null,
    audioTx: null,
    remoteSet: false,
    pendingRemote: [],
    sampler: new StatsSampler(pc),
  };
  state.conns.set(remoteId, c);
  // The chat is a negotiated channel with a fixed id (docs/peer-signaling.md: every rtc-cli channel is), so both roles
  // create it before negotiation and it does not matter who offers.
  setupChannel(c, pc.createDataChannel('chat', { negotiated: true, id: 2 }));
  pc.onicecandidate = (e) => {
    if (!e.candidate || !e.candidate.candidate) return;
    state.sig?.send({ kind: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }, remoteId);
  };
  pc.ontrack = (e) => {
    const v = card.querySelector('video.remote');
    v.hidden = false;
    card.querySelector('.no-media').hidden = true;
    const stream = v.srcObject instanceof MediaStream ? v.srcObject : new MediaStream();
    if (!stream.getTracks().includes(e.track)) stream.addTrack(e.track);
    v.srcObject = stream;
    v.play().catch(() => {});
    log(`receiving ${e.track.kind} from ${remoteId}`);
  };
  pc.onconnectionstatechange = () => {
    const s = pc.connectionState;
    setPill(card.querySelector('.conn-state'), s);
    log(`peer ${remoteId}: ${s}`);
    if (s === 'connected') applyBitrate(c);
    if (s === 'failed') notice(`The connection to ${remoteId} failed: no ICE candidate pair works (firewall/NAT). A TURN server may be needed (?ice=turn:host:3478).`);
    renderPeers();
  };
  renderPeers();
  return c;
}

function closeConn(c) {
  try {
    c.dc?.close();
    c.pc.close();
  } catch {
    /* already closed */
  }
  c.card.remove();
  state.conns.delete(c.id);
  if (!$('connections').querySelector('article')) $('connections').replaceChildren(Object.assign(document.createElement('p'), { className: 'dim', textContent: 'No connection.' }));
  updateChatButton();
  renderPeers();
}

async function makeOffer(remoteId) {
  const c = createConn(remoteId, 'offerer');
  const v = outgoingVideo();
  const a = cameraAudio();
  const stream = outgoingStream();
  // Always one video and one audio transceiver, sendrecv even with no track yet: a later camera start or source switch
  // is a replaceTrack(), and the same offer lets a CLI `publish` send back to us.
  c.videoTx = c.pc.addTransceiver(v ?? 'video', { direction: 'sendrecv', streams: [stream] });
  c.audioTx = c.pc.addTransceiver(a ?? 'audio', { direction: 'sendrecv', streams: [stream] });
  await c.pc.setLocalDescription(await c.pc.createOffer());
  state.sig.send({ kind: 'offer', sdp: c.pc.localDescription.sdp }, remoteId);
  log(`sent offer to ${remoteId}`);
}

async function onOffer(from, sdp) {
  let c = state.conns.get(from);
  if (!c || c.pc.signalingState === 'closed' || (c.role === 'offerer' && c.pc.signalingState !== 'stable')) c = createConn(from, 'answerer');
  await c.pc.setRemoteDescription({ type: 'offer', sdp });
  c.remoteSet = true;
  // Attach our tracks to the transceivers the offer created (one per m= line of each kind).
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
  await c.pc.setLocalDescription(await c.pc.createAnswer());
  state.sig.send({ kind: 'answer', sdp: c.pc.localDescription.sdp }, from);
  log(`answered ${from}`);
  await flushCandidates(c);
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

async function onRelay(ev) {
  const { from, data } = ev.detail;
  if (!data || typeof data !== 'object' || typeof from !== 'string') return;
  try {
    if (data.kind === 'offer' && typeof data.sdp === 'string') {
      await onOffer(from, data.sdp);
    } else if (data.kind === 'bye') {
      const c = state.conns.get(from);
      if (c) closeConn(c);
    } else if (data.kind === 'answer' && typeof data.sdp === 'string') {
      const c = state.conns.get(from);
      if (!c || c.pc.signalingState !== 'have-local-offer') return;
      await c.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
      c.remoteSet = true;
      log(`got answer from ${from}`);
      await flushCandidates(c);
    } else if (data.kind === 'candidate' && typeof data.candidate === 'string') {
      let c = state.conns.get(from);
      // Candidates can overtake the offer: keep them until the remote description is set (browsers reject early ones).
      if (!c) c = createConn(from, 'answerer');
      if (c.remoteSet) await addCandidate(c, data);
      else c.pendingRemote.push(data);
    }
  } catch (e) {
    notice(`Negotiation with ${from} failed: ${e.message}`);
  }
}

async function applyBitrate(c) {
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

// ---------------------------------------------------------------------------------------------------------- chat
function setupChannel(c, dc) {
  c.dc = dc;
  dc.onopen = () => {
    log(`chat channel with ${c.id} open`);
    updateChatButton();
  };
  dc.onclose = () => updateChatButton();
  dc.onmessage = (e) => {
    const text = typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data);
    addChat(c.id, text);
  };
}

function updateChatButton() {
  $('chat-send').disabled = ![...state.conns.values()].some((c) => c.dc?.readyState === 'open');
}

function addChat(from, text) {
  state.chat.push({ from, text, at: Date.now() });
  const li = document.createElement('li');
  const who = document.createElement('strong');
  who.textContent = from === state.myId ? 'me' : from;
  li.append(who, `: ${text}`);
  li.dataset.from = from;
  $('chat-log').appendChild(li);
}

function sendChat(text) {
  let sent = 0;
  for (const c of state.conns.values()) {
    if (c.dc?.readyState === 'open') {
      c.dc.send(text);
      sent += 1;
    }
  }
  if (sent) addChat(state.myId, text);
  return sent;
}

// ------------------------------------------------------------------------------------------------ signaling target
// `?signal=` may point the page at another signaling server. A link is not the user's consent to send the camera
// there: `?autostart=1&signal=ws://attacker/ws` would otherwise stream it to the attacker's `record`. So a target that
// is not the server that served this page never autostarts: the page says where it would connect and waits for a
// click on Join. (The server's Content-Security-Policy only lets the page connect to origins `serve --allow-origin`
// lists, so a foreign target also has to be trusted by the operator.)
function signalTarget() {
  const own = defaultSignalUrl();
  const given = params.get('signal');
  if (!given) return { url: own, foreign: false, valid: true };
  let u;
  try {
    u = new URL(given);
  } catch {
    return { url: given, foreign: true, valid: false };
  }
  const ownUrl = new URL(own);
  return { url: u.href, foreign: u.protocol !== ownUrl.protocol || u.host !== ownUrl.host, valid: u.protocol === 'ws:' || u.protocol === 'wss:' };
}
const signal = signalTarget();
state.signalUrl = signal.url;
state.foreignSignal = signal.foreign;

// --------------------------------------------------------------------------------------------------------- room
async function join(room, token) {
  notice('');
  if (state.sig) leave();
  if (!signal.valid) {
    notice(`The signal parameter "${signal.url}" is not a ws:// or wss:// URL.`);
    return;
  }
  if (signal.foreign) log(`connecting to ${signal.url} (not the server that served this page)`);
  const sig = new SignalingClient(signal.url);
  state.sig = sig;
  setPill($('signal-state'), 'connecting', 'connecting…');
  sig.addEventListener('relay', onRelay);
  sig.addEventListener('peer-joined', (ev) => {
    log(`peer ${ev.detail.id} joined; waiting for its offer`);
    // The later joiner offers: create the connection now so its candidates have somewhere to queue.
    createConn(ev.detail.id, 'answerer');
  });
  sig.addEventListener('peer-left', (ev) => {
    log(`peer ${ev.detail.id} left`);
    const c = state.conns.get(ev.detail.id);
    if (c) closeConn(c);
  });
  sig.addEventListener('server-error', (ev) => notice(`Signaling server: ${ev.detail.message} [${ev.detail.code}]`));
  sig.addEventListener('closed', () => {
    if (state.sig !== sig) return;
    setPill($('signal-state'), 'closed', 'disconnected');
    $('join').disabled = false;
    $('leave').disabled = true;
  });
  try {
    const j = await sig.join(room, token);
    state.myId = j.id;
    state.room = j.room;
    setPill($('signal-state'), 'joined', `in room "${j.room}"`);
    $('my-id').textContent = `my id: ${j.id}`;
    $('join').disabled = true;
    $('leave').disabled = false;
    const link = new URL(location.href);
    link.search = `?room=${encodeURIComponent(j.room)}`;
    $('room-link').href = link.href;
    $('room-link').textContent = link.href;
    log(`joined room ${j.room} as ${j.id}; peers already there: ${j.peers.join(', ') || 'none'}`);
    renderPeers();
    for (const p of j.peers) await makeOffer(p);
  } catch (e) {
    setPill($('signal-state'), 'error', 'failed');
    notice(`Could not join the room: ${e.message}`);
    state.sig = null;
    sig.close();
  }
}

function leave() {
  for (const c of [...state.conns.values()]) closeConn(c);
  state.sig?.close();
  state.sig = null;
  state.myId = null;
  setPill($('signal-state'), 'idle', 'not connected');
  $('my-id').textContent = '';
  $('join').disabled = false;
  $('leave').disabled = true;
  renderPeers();
}

// ------------------------------------------------------------------------------------------------------- stats loop
setInterval(async () => {
  for (const c of state.conns.values()) {
    if (c.pc.connectionState === 'closed') continue;
    try {
      const s = await c.sampler.sample();
      state.lastStats[c.id] = s;
      renderStats(c.card, s);
    } catch {
      /* pc closed meanwhile */
    }
  }
}, 1000);

// ------------------------------------------------------------------------------------------------------------ wiring
$('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  join($('room').value.trim(), $('token').value);
});
$('leave').onclick = () => leave();
$('start').onclick = () => startCamera();
$('apply').onclick = () => startCamera();
$('stop').onclick = () => stopAll();
$('screen').onclick = () => toggleScreen();
$('css-filter').onchange = () => {
  $('local').style.filter = $('css-filter').value;
};
$('canvas-effect').onchange = () => {
  restartEffect();
  updateOutgoing();
};
$('snapshot').onclick = () => snapshot();
$('rec-start').onclick = () => startRecording();
$('rec-stop').onclick = () => state.recorder?.stop();
$('apply-bitrate').onclick = () => {
  const v = Number($('max-bitrate').value);
  state.maxBitrateKbps = v > 0 ? v : null;
  for (const c of state.conns.values()) applyBitrate(c);
  if (state.conns.size === 0) $('bitrate-state').textContent = state.maxBitrateKbps ? `will cap video at ${state.maxBitrateKbps} kbps` : 'no cap';
};
$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chat-input').value;
  if (text && sendChat(text)) $('chat-input').value = '';
});
navigator.mediaDevices?.addEventListener?.('devicechange', () => listDevices().catch(() => {}));
if (!window.RTCPeerConnection) notice('This browser has no WebRTC (RTCPeerConnection).');
if (!navigator.mediaDevices) notice(window.isSecureContext === false ? 'Camera access needs a secure page: open it over https (rtc-cli serve --https) or on http://localhost.' : 'This browser cannot capture media (no navigator.mediaDevices).', 'info');

// Expose the actions for tests and the console.
Object.assign(state, { join, leave, startCamera, stopAll, snapshot, startRecording, sendChat, toggleScreen });

// --------------------------------------------------------------------------------------------------- URL parameters
async function boot() {
  const wanted = applyUrlParamsToForm(params);
  await listDevices(document, wanted).catch(() => {});
  if (params.get('room')) $('room').value = params.get('room');
  if (params.get('token')) $('token').value = params.get('token');
  if (params.get('filter')) {
    $('css-filter').value = params.get('filter');
    $('local').style.filter = params.get('filter');
  }
  if (params.get('effect')) $('canvas-effect').value = params.get('effect');
  if (Number(params.get('maxBitrate')) > 0) {
    state.maxBitrateKbps = Number(params.get('maxBitrate'));
    $('max-bitrate').value = String(state.maxBitrateKbps);
  }
  renderPeers();
  if (signal.foreign) setPill($('signal-state'), 'idle', `not connected (would use ${signal.url})`);
  if (params.get('autostart') === '1' && signal.foreign) {
    notice(
      `This link asks the page to send your camera and microphone through ${signal.url}, which is not the server that ` +
        'served this page. Nothing was started. If you trust that server, press Join (and Start camera) yourself.',
      'info',
    );
  } else if (params.get('autostart') === '1') {
    const wantsMedia = $('c-video').checked || $('c-audio').checked;
    if (wantsMedia) {
      await startCamera();
      if (wanted.videoDevice || wanted.audioDevice) {
        // Device ids become selectable only after permission; re-capture with the requested ones.
        await listDevices(document, wanted).catch(() => {});
        await startCamera();
      }
      if ($('canvas-effect').value !== 'none') {
        restartEffect();
        await updateOutgoing();
      }
    }
    if ($('room').value) await join($('room').value.trim(), $('token').value);
  }
  document.body.dataset.ready = '1';
}
boot();
