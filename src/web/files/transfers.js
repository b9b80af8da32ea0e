// The list of transfers in the Files section: one entry per file sent or received, with progress, rate, the outcome
// and, for a verified received file, its download link. Names come from the network: they are only ever shown
// through printable() and textContent.
import { state } from '../state.js';
import { $, formatBytes, log } from '../ui.js';
import { printable } from './protocol.js';

const RENDER_EVERY_MS = 200;
let nextId = 1;

export class Transfer {
  constructor({ direction, peer, name, size }) {
    Object.assign(this, { id: nextId++, direction, peer, name: printable(name), size, bytes: 0, offset: 0, status: 'waiting', message: '', sha256: null, savedAs: null });
    this.started = performance.now();
    this.rendered = 0;
    this.li = document.createElement('li');
    this.li.className = 'transfer';
    this.li.dataset.id = String(this.id);
    this.li.dataset.direction = direction;
    for (const cls of ['what', 'progress', 'status', 'download']) {
      const el = document.createElement(cls === 'progress' ? 'progress' : cls === 'download' ? 'a' : 'span');
      el.className = cls;
      this.li.appendChild(el);
    }
    this.li.querySelector('.download').hidden = true;
    $('transfers').prepend(this.li);
    state.files.transfers.push(this);
    this.render();
  }

  /** Bytes done so far (throttled rendering). */
  progress(bytes, status = this.status) {
    this.bytes = bytes;
    this.status = status;
    const now = performance.now();
    if (now - this.rendered >= RENDER_EVERY_MS) this.render();
  }

  /** The final outcome: `done`, `failed` (with the reason) or `refused`. */
  finish(status, message = '') {
    this.status = status;
    this.message = message;
    this.seconds = (performance.now() - this.started) / 1000;
    this.render();
    log(`${this.direction === 'send' ? 'sending' : 'receiving'} ${this.name}: ${status}${message ? ` (${message})` : ''}`);
  }

  /** A verified file: a download of `blob` under `name` (already checked by checkName), started at once. */
  offer(blob, name) {
    const a = this.li.querySelector('.download');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.textContent = `save ${printable(name)} again`;
    a.hidden = false;
    a.click();
  }

  render() {
    this.rendered = performance.now();
    const arrow = this.direction === 'send' ? `to ${this.peer}` : `from ${this.peer}`;
    const size = this.size === null ? 'size unknown' : formatBytes(this.size);
    this.li.dataset.status = this.status;
    this.li.querySelector('.what').textContent = `${this.name} (${size}) ${arrow}`;
    const bar = this.li.querySelector('.progress');
    if (this.size) {
      bar.max = this.size;
      bar.value = this.bytes;
    } else bar.removeAttribute('value');
    this.li.querySelector('.status').textContent = this.statusText();
  }

  statusText() {
    const secs = Math.max((performance.now() - this.started) / 1000, 0.001);
    const rate = (this.bytes - this.offset) / secs;
    switch (this.status) {
      case 'hashing':
        return `computing SHA-256… ${this.size ? Math.floor((this.bytes / this.size) * 100) : 0}%`;
      case 'sending':
      case 'receiving': {
        const pct = this.size ? ` ${Math.floor((this.bytes / this.size) * 100)}%` : '';
        return `${this.status} ${formatBytes(this.bytes)}${pct}, ${(rate / 1e6).toFixed(1)} MB/s`;
      }
      case 'done':
        return `verified (SHA-256 ${this.sha256?.slice(0, 16)}…), ${formatBytes(this.bytes)} in ${this.seconds.toFixed(1)} s${this.message ? `; ${this.message}` : ''}`;
      case 'failed':
      case 'refused':
        return `${this.status}: ${this.message}`;
      default:
        return this.message || this.status;
    }
  }
}
