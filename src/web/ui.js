// Small DOM helpers every part of the page uses: element lookup, the event log, the notice banner, status pills.
import { state } from './state.js';

export const $ = (id) => document.getElementById(id);

export function log(msg) {
  const el = $('log');
  const line = `${new Date().toISOString().slice(11, 23)} ${msg}\n`;
  el.textContent = (el.textContent + line).split('\n').slice(-200).join('\n');
}

export function notice(msg, kind = 'error') {
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

export function setPill(el, s, text = s) {
  el.dataset.state = s;
  el.textContent = text;
}

/** "3.10 MiB": sizes as the CLI prints them (src/rtc/file-transfer-format.ts). */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
