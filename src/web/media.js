// Capture: getUserMedia constraints built from the form (or URL parameters), device lists, and error messages a person
// can act on. Constraint names follow Media Capture and Streams (W3C) §4.3 / §11.

const TRI = (v) => (v === 'true' ? true : v === 'false' ? false : undefined);

/** Read the constraints form into {video, audio} MediaStreamConstraints (undefined members are left out). */
export function constraintsFromForm(doc = document) {
  const $ = (id) => doc.getElementById(id);
  let video = false;
  if ($('c-video').checked) {
    video = {};
    const res = $('c-resolution').value;
    if (res) {
      const [w, h] = res.split('x').map(Number);
      video.width = { ideal: w };
      video.height = { ideal: h };
    }
    const fps = Number($('c-frameRate').value);
    if (fps > 0) video.frameRate = { ideal: fps, max: fps };
    if ($('c-facingMode').value) video.facingMode = { ideal: $('c-facingMode').value };
    if ($('c-videoDevice').value) video.deviceId = { exact: $('c-videoDevice').value };
  }
  let audio = false;
  if ($('c-audio').checked) {
    audio = {};
    for (const k of ['echoCancellation', 'noiseSuppression', 'autoGainControl']) {
      const v = TRI($(`c-${k}`).value);
      if (v !== undefined) audio[k] = { ideal: v };
    }
    const sr = Number($('c-sampleRate').value);
    if (sr > 0) audio.sampleRate = { ideal: sr };
    const cc = Number($('c-channelCount').value);
    if (cc > 0) audio.channelCount = { ideal: cc };
    if ($('c-audioDevice').value) audio.deviceId = { exact: $('c-audioDevice').value };
    if (Object.keys(audio).length === 0) audio = true;
  }
  if (video && Object.keys(video).length === 0) video = true;
  return { video, audio };
}

/** Copy URL parameters into the form so a CLI can print a link that sets the constraints. */
export function applyUrlParamsToForm(params, doc = document) {
  const $ = (id) => doc.getElementById(id);
  const set = (id, v) => {
    const el = $(id);
    if (!el || v === null || v === undefined) return;
    if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === v)) {
      const o = doc.createElement('option');
      o.value = v;
      o.textContent = v;
      el.appendChild(o);
    }
    el.value = v;
  };
  if (params.has('width') || params.has('height')) {
    const w = params.get('width') || '640';
    const h = params.get('height') || String(Math.round((Number(w) * 3) / 4));
    set('c-resolution', `${w}x${h}`);
  }
  set('c-frameRate', params.get('frameRate') ?? params.get('fps'));
  set('c-facingMode', params.get('facingMode'));
  for (const k of ['echoCancellation', 'noiseSuppression', 'autoGainControl', 'sampleRate', 'channelCount']) set(`c-${k}`, params.get(k));
  if (params.get('video') === '0' || params.get('video') === 'false') $('c-video').checked = false;
  if (params.get('audio') === '0' || params.get('audio') === 'false') $('c-audio').checked = false;
  // Device ids only exist after enumerateDevices(); keep them for later.
  return { videoDevice: params.get('videoDevice'), audioDevice: params.get('audioDevice') };
}

/** Fill the camera/microphone selects from enumerateDevices(). Labels are empty until permission was granted. */
export async function listDevices(doc = document, wanted = {}) {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: 0, microphones: 0 };
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (id, kind, want) => {
    const sel = doc.getElementById(id);
    const keep = want || sel.value;
    sel.replaceChildren(new Option('default', ''));
    let n = 0;
    for (const d of devices.filter((x) => x.kind === kind)) {
      n += 1;
      sel.appendChild(new Option(d.label || `${kind === 'videoinput' ? 'camera' : 'microphone'} ${n}`, d.deviceId));
    }
    if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
    return n;
  };
  return { cameras: fill('c-videoDevice', 'videoinput', wanted.videoDevice), microphones: fill('c-audioDevice', 'audioinput', wanted.audioDevice) };
}

/** Turn a getUserMedia/getDisplayMedia failure into a sentence that says what to do. */
export function explainMediaError(e, what = 'camera/microphone') {
  const name = e && e.name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return `Permission to use the ${what} was denied. Allow it from the icon in the address bar (or the browser/OS privacy settings) and try again.`;
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return `No ${what} was found. Plug one in, or untick "send video"/"send audio" for the one you do not have.`;
    case 'NotReadableError':
    case 'TrackStartError':
      return `The ${what} exists but could not be started: another application is probably using it.`;
    case 'OverconstrainedError':
      return `The ${what} cannot satisfy the constraint "${e.constraint || 'unknown'}". Choose another value or "default".`;
    case 'SecurityError':
      return `The browser blocked the ${what}: this page must be served over https (or http://localhost). Try "rtc-cli serve --https".`;
    case 'AbortError':
      return `Starting the ${what} was aborted by the browser (${e.message}).`;
    case 'TypeError':
      return `The ${what} request was rejected: ${e.message}`;
    default:
      return `Could not start the ${what}: ${e && e.message ? e.message : String(e)}`;
  }
}

/** getUserMedia with feature detection (no mediaDevices = insecure context or very old browser). */
export async function getUserMedia(constraints) {
  if (!navigator.mediaDevices?.getUserMedia) {
    const err = new Error('navigator.mediaDevices is missing');
    err.name = window.isSecureContext === false ? 'SecurityError' : 'NotSupportedError';
    throw err;
  }
  return navigator.mediaDevices.getUserMedia(constraints);
}

/** A readable summary of the settings each track actually got (what the browser chose within the constraints). */
export function describeSettings(stream) {
  if (!stream) return 'nothing captured yet';
  const out = {};
  for (const t of stream.getTracks()) {
    const s = t.getSettings ? t.getSettings() : {};
    out[t.kind] = { label: t.label, ...s };
  }
  return JSON.stringify(out, null, 2);
}
