// What the page captures and sends: camera and microphone (getUserMedia with the form's constraints), the screen
// (getDisplayMedia), and a canvas effect in front of either. Sources are switched with RTCRtpSender.replaceTrack(),
// which needs no renegotiation (WebRTC 1.0 §5.2): every connection keeps its one video and one audio transceiver.
import { constraintsFromForm, listDevices, explainMediaError, getUserMedia, describeSettings } from './media.js';
import { EffectPipeline } from './effects.js';
import { state } from './state.js';
import { $, log, notice } from './ui.js';

export function cameraVideo() {
  return state.camera?.getVideoTracks()[0] ?? null;
}
export function cameraAudio() {
  return state.camera?.getAudioTracks()[0] ?? null;
}
/** The video track that is actually sent: effect canvas > screen > camera. */
export function outgoingVideo() {
  return state.pipeline?.track ?? state.screenTrack ?? cameraVideo();
}
export function outgoingStream() {
  return new MediaStream([outgoingVideo(), cameraAudio()].filter(Boolean));
}

function capturedStream() {
  if (state.camera) return new MediaStream([...(state.screenTrack ? [state.screenTrack] : []), ...state.camera.getTracks()]);
  return state.screenTrack ? new MediaStream([state.screenTrack]) : null;
}

/** Show what is sent now, enable the buttons that make sense, and put the tracks on every connection's senders. */
export async function updateOutgoing() {
  const v = outgoingVideo();
  const a = cameraAudio();
  $('local').srcObject = v || a ? outgoingStream() : null;
  $('source').textContent = state.screenTrack ? 'screen' : v ? 'camera' : a ? 'microphone only' : 'none';
  if (state.pipeline) $('source').textContent += ` + ${state.pipeline.effect} effect`;
  $('settings').textContent = describeSettings(capturedStream());
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

export async function startCamera() {
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

export function stopAll() {
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

export async function toggleScreen() {
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

export function restartEffect() {
  const effect = $('canvas-effect').value;
  if (state.pipeline) state.pipeline.stop();
  state.pipeline = null;
  const src = state.screenTrack ?? cameraVideo();
  if (effect !== 'none' && src) state.pipeline = new EffectPipeline(src, effect, Number($('c-frameRate').value) || 30);
}
