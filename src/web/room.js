// The room: one signaling connection (signaling.js) to the server that served the page, or to `?signal=`, and one
// peer connection per other peer in the room (peers.js).
import { SignalingClient, defaultSignalUrl } from './signaling.js';
import { closeConn, createConn, handleSignal, makeOffer, renderPeers } from './peers.js';
import { params, state } from './state.js';
import { $, log, notice, setPill } from './ui.js';

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
export const signal = signalTarget();
state.signalUrl = signal.url;
state.foreignSignal = signal.foreign;

/** The room's route for peers.js: plain payloads relayed to one peer. */
export const roomRoute = { kind: 'room', send: (payload, to) => state.sig?.send(payload, to) };

function watch(sig) {
  sig.addEventListener('relay', (ev) => handleSignal(roomRoute, ev.detail.from, ev.detail.data));
  sig.addEventListener('peer-joined', (ev) => {
    log(`peer ${ev.detail.id} joined; waiting for its offer`);
    // The later joiner offers: create the connection now so its candidates have somewhere to queue.
    createConn(ev.detail.id, 'answerer', roomRoute);
  });
  sig.addEventListener('peer-left', (ev) => {
    log(`peer ${ev.detail.id} left`);
    const c = state.conns.get(ev.detail.id);
    if (c && c.route === roomRoute) closeConn(c);
  });
  sig.addEventListener('server-error', (ev) => notice(`Signaling server: ${ev.detail.message} [${ev.detail.code}]`));
  sig.addEventListener('closed', () => {
    if (state.sig !== sig) return;
    setPill($('signal-state'), 'closed', 'disconnected');
    $('join').disabled = false;
    $('leave').disabled = true;
  });
}

function showJoined(j) {
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
}

export async function join(room, token) {
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
  watch(sig);
  try {
    const j = await sig.join(room, token);
    showJoined(j);
    for (const p of j.peers) await makeOffer(p, roomRoute);
  } catch (e) {
    setPill($('signal-state'), 'error', 'failed');
    notice(`Could not join the room: ${e.message}`);
    state.sig = null;
    sig.close();
  }
}

export function leave() {
  for (const c of [...state.conns.values()]) if (c.route === roomRoute) closeConn(c);
  state.sig?.close();
  state.sig = null;
  state.myId = null;
  setPill($('signal-state'), 'idle', 'not connected');
  $('my-id').textContent = '';
  $('join').disabled = false;
  $('leave').disabled = true;
  renderPeers();
}
