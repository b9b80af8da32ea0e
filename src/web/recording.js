// Local capture to files the user downloads: a PNG snapshot of the preview and a MediaRecorder recording of what is
// sent (WebM; MP4 where only that is supported, e.g. Safari).
import { outgoingStream } from './capture.js';
import { state } from './state.js';
import { $, log, notice } from './ui.js';

/** Point a download link at `blob` (releasing the previous one) and click it. */
export function offerDownload(a, blob, name, text) {
  if (a.href.startsWith('blob:')) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.hidden = false;
  a.textContent = text;
  a.click();
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

export function snapshot() {
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
      log(`snapshot ${canvas.width}x${canvas.height} ${blob.size} bytes`);
      offerDownload($('snapshot-link'), blob, `snapshot-${stamp()}.png`, `download snapshot (${canvas.width}×${canvas.height}, ${Math.round(blob.size / 1024)} KiB)`);
      resolve(blob);
    }, 'image/png');
  });
}

function pickRecorderType() {
  if (typeof MediaRecorder === 'undefined') return null;
  const types = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm', 'video/mp4;codecs=avc1,mp4a', 'video/mp4'];
  return types.find((t) => MediaRecorder.isTypeSupported?.(t)) ?? '';
}

export function startRecording() {
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
    $('rec-start').disabled = false;
    $('rec-stop').disabled = true;
    log(`local recording: ${blob.size} bytes ${mime}`);
    offerDownload($('rec-link'), blob, `recording-${stamp()}.${ext}`, `download recording (${$('rec-elapsed').textContent}, ${Math.round(blob.size / 1024)} KiB)`);
  };
  rec.start(1000); // a chunk per second: a long recording does not sit in one huge buffer
  state.recorder = rec;
  $('rec-format').textContent = rec.mimeType || type;
  $('rec-start').disabled = true;
  $('rec-stop').disabled = false;
  log(`local recording started (${rec.mimeType || type})`);
}
