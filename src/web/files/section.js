// The Files section of the page: pick or drop files, send them to the peers in the room or with a short code, receive
// what a peer sends (in the room, or with a code typed here), and follow every transfer. The protocol is
// docs/file-transfer-protocol.md on the negotiated channel `rtc-cli-file` (id 1), so the other side can be
// `rtc-cli send-file`/`recv-file` or another page.
import { CodeSession } from '../auth/session.js';
import { signal } from '../room.js';
import { state } from '../state.js';
import { $, formatBytes, log, notice } from '../ui.js';
import { onFilesChange } from './peer.js';
import { printable } from './protocol.js';
import { Outgoing } from './sender.js';
import { clearLeftovers, storageNote } from './sinks.js';

/** How long the file channel of a new code connection may take to open. */
const CHANNEL_OPEN_MS = 15_000;
/** A code joiner's sender says hello this soon after the file channel opened (recv-file's own limit is 15 s). */
const HELLO_WAIT_MS = 15_000;

const files = {
  /** Picked files (Outgoing), in order. */
  queue: [],
  /** Every file sent or received (transfers.js). */
  transfers: [],
  /** Every session on a file channel: {kind, peer, status: 'done'|'failed', result, error}. */
  sessions: [],
  /** The current or last code session: {role, code, status, error}. */
  code: null,
  /** Waiting for a peer in the room to send the queue to (clicked with nobody there yet). */
  armed: false,
};

function roomPeers() {
  return [...state.conns.values()].filter((c) => c.route.kind === 'room' && c.files?.open && !c.files.busy);
}

function renderQueue() {
  const ul = $('file-queue');
  ul.replaceChildren();
  for (const item of files.queue) {
    const li = document.createElement('li');
    const hashed = item.done >= item.size ? '' : ` (computing SHA-256… ${item.size ? Math.floor((item.done / item.size) * 100) : 0}%)`;
    li.textContent = `${printable(item.name)}, ${formatBytes(item.size)}${hashed}`;
    ul.appendChild(li);
  }
  const some = files.queue.length > 0;
  $('files-clear').disabled = !some;
  $('files-send-room').disabled = !some;
  $('files-send-code').disabled = !some || Boolean(files.code?.running);
  $('files-room-state').textContent = files.armed ? 'waiting for a peer in the room…' : state.sig ? `${roomPeers().length} peer(s) in the room can take files` : 'join a room first, or use a code';
}

export function pick(list) {
  for (const f of list) files.queue.push(new Outgoing(f));
  log(`picked ${list.length} file(s) to send`);
  renderQueue();
  // Show the hashing progress until every file is hashed.
  const tick = setInterval(() => {
    renderQueue();
    if (files.queue.every((i) => i.done >= i.size)) clearInterval(tick);
  }, 250);
}

/** Send the queue to every peer in the room whose file channel is free; with none, to the first that connects. */
export function sendToRoom() {
  const peers = roomPeers();
  const items = [...files.queue];
  if (items.length === 0) return 0;
  if (!state.sig) {
    notice('Join a room first (section 1), or send with a code.', 'info');
    return 0;
  }
  if (peers.length === 0) {
    files.armed = true;
    renderQueue();
    return 0;
  }
  files.armed = false;
  for (const c of peers) void c.files.sendFiles(items);
  renderQueue();
  return peers.length;
}

function codeStatus(text, kind = 'info') {
  const el = $('code-status');
  el.textContent = text;
  el.dataset.kind = kind;
  if (files.code) {
    files.code.status = text;
    if (kind === 'error') files.code.error = text;
  }
  log(`code session: ${text}`);
}

function codeFailed(e) {
  const code = e.code ?? 'RTC_ERR_PEER_AUTH';
  codeStatus(`${e.message} [${code}]`, 'error');
  notice(`Code session failed: ${e.message}`);
}

function summary(session) {
  if (session.status !== 'done') return `${session.error.message} [${session.error.code}]`;
  const { files: ok, failed } = session.result;
  return `${ok.length} file(s) verified${failed.length ? `, ${failed.length} failed` : ''}`;
}

async function runCode(role, body) {
  const s = new CodeSession({ url: signal.url, token: $('token').value || undefined, status: (t) => codeStatus(t), onCode: showCode });
  files.code = { role, code: null, status: 'starting', error: null, running: true };
  $('files-code').textContent = '';
  renderQueue();
  try {
    const session = await body(s);
    codeStatus(`${role === 'creator' ? 'sent' : 'received'}: ${summary(session)}`, session.status === 'done' && session.result.failed.length === 0 ? 'ok' : 'error');
  } catch (e) {
    codeFailed(e);
  } finally {
    s.close();
    files.code.running = false;
    renderQueue();
  }
}

function showCode(code) {
  files.code.code = code;
  $('files-code').textContent = code;
  $('files-code-hint').textContent = `on the other machine run: rtc-cli recv-file ${code}   (or type it into "Receive with a code" on another page)`;
}

/** "Send with a code": the page makes a code and sends the queue to whoever types it. */
export function sendWithCode() {
  const items = [...files.queue];
  if (items.length === 0) return Promise.resolve();
  return runCode('creator', async (s) => {
    const c = await s.create();
    await c.files.whenOpen(CHANNEL_OPEN_MS);
    codeStatus('connected: sending');
    return c.files.sendFiles(items);
  });
}

/** "Receive with a code": the page types the code `rtc-cli send-file` printed and receives what it sends. */
export function receiveWithCode(text) {
  return runCode('joiner', async (s) => {
    const c = await s.join(text);
    await c.files.whenOpen(CHANNEL_OPEN_MS);
    codeStatus('connected: waiting for the files');
    const until = Date.now() + HELLO_WAIT_MS;
    while (c.files.started === 0) {
      if (s.pipe.error) throw s.pipe.error;
      if (Date.now() > until) throw new Error(`the peer sent no hello within ${HELLO_WAIT_MS / 1000} s: is the other side running send-file?`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return c.files.running;
  });
}

function wireDrop() {
  const zone = $('file-drop');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.dataset.over = '1';
  });
  zone.addEventListener('dragleave', () => delete zone.dataset.over);
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    delete zone.dataset.over;
    const list = [...(e.dataTransfer?.files ?? [])];
    if (list.length) pick(list);
  });
}

export function setupFilesSection() {
  state.files = files;
  wireDrop();
  $('file-pick').addEventListener('change', (e) => {
    pick([...e.target.files]);
    e.target.value = '';
  });
  $('files-clear').onclick = () => {
    files.queue = [];
    files.armed = false;
    renderQueue();
  };
  $('files-send-room').onclick = () => sendToRoom();
  $('files-send-code').onclick = () => sendWithCode();
  $('code-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('code-input').value;
    if (text.trim()) receiveWithCode(text);
  });
  onFilesChange(() => {
    if (files.armed && roomPeers().length > 0) sendToRoom();
    renderQueue();
  });
  $('files-storage').textContent = storageNote();
  renderQueue();
  clearLeftovers().then((n) => n && log(`removed ${n} leftover received file folder(s) of closed tabs`));
  return Object.assign(files, { pick, sendToRoom, sendWithCode, receiveWithCode });
}
