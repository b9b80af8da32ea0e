// The companion page: joins a room on the rtc-cli signaling server, captures camera/microphone/screen and sends them
// to every other peer in the room (a CLI `record`, another page) while showing what they send (a CLI `publish`), and
// moves files with `send-file`/`recv-file` (in the room, or authenticated by a short code).
//
// This file wires the page together; each concern is its own module (docs/companion-page.md lists them): capture.js,
// recording.js, peers.js (one connection per remote), room.js, chat.js, files/ (the transfer protocol and the Files
// section), auth/ (short codes: SPAKE2 and sealed signaling), stats.js, media.js, effects.js, signaling.js, ui.js.
import { applyUrlParamsToForm, listDevices } from './media.js';
import { restartEffect, startCamera, stopAll, toggleScreen, updateOutgoing } from './capture.js';
import { snapshot, startRecording } from './recording.js';
import { applyBitrate, renderPeers, startStatsLoop } from './peers.js';
import { join, leave, signal } from './room.js';
import { sendChat } from './chat.js';
import { setupFilesSection } from './files/section.js';
import { renderStats } from './stats.js';
import { params, state } from './state.js';
import { $, notice, setPill } from './ui.js';

function wire() {
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
}

function checkBrowser() {
  if (!window.RTCPeerConnection) notice('This browser has no WebRTC (RTCPeerConnection).');
  if (!navigator.mediaDevices) {
    notice(
      window.isSecureContext === false
        ? 'Camera access needs a secure page: open it over https (rtc-cli serve --https) or on http://localhost.'
        : 'This browser cannot capture media (no navigator.mediaDevices).',
      'info',
    );
  }
}

/** ?autostart=1: capture with the URL's constraints, then join the URL's room. */
async function autostart(wanted) {
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
    await autostart(wanted);
  }
  document.body.dataset.ready = '1';
}

wire();
checkBrowser();
const files = setupFilesSection();
startStatsLoop(renderStats);
// Expose the actions for tests and the console.
Object.assign(state, { join, leave, startCamera, stopAll, snapshot, startRecording, sendChat, toggleScreen, files });
boot();
