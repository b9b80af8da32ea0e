// The send-file/recv-file wire protocol, version 1, as the page speaks it (docs/file-transfer-protocol.md; the CLI's
// side is src/rtc/file-transfer-protocol.ts). Control messages are JSON text messages with a string `t`, file bytes
// are binary messages on the same reliable, ordered channel. Everything decoded here comes from the network: the
// decoder is strict, bounds every string, and throws nothing but a TransferError with code RTC_ERR_PROTOCOL.

export const FILE_PROTOCOL_VERSION = 1;
/** The negotiated data channel both sides create before negotiation (docs/peer-signaling.md §Data channels). */
export const FILE_CHANNEL = { label: 'rtc-cli-file', id: 1 };
/** werift refuses messages over 64 KiB (and advertises a=max-message-size:65536). */
export const CHUNK_SIZE = 65_536;
export const MAX_CONTROL_BYTES = 8_192;

/** A transfer that cannot go on, with the stable code the CLI would use (README "Exit codes and error codes"). */
export class TransferError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TransferError';
    this.code = code;
  }
}

/** The codes a peer may name in `reject`, `ack ok:false` and `error`; anything else is shown as a protocol error. */
export const PEER_CODES = new Set([
  'RTC_ERR_UNSAFE_NAME', 'RTC_ERR_TOO_LARGE', 'RTC_ERR_EXISTS', 'RTC_ERR_WRITE', 'RTC_ERR_HASH_MISMATCH', 'RTC_ERR_PROTOCOL',
  'RTC_ERR_FILE_UNREADABLE', 'RTC_ERR_STALLED', 'RTC_ERR_PEER_LEFT', 'RTC_ERR_INTERRUPTED',
]);

function bad(why) {
  return new TransferError('RTC_ERR_PROTOCOL', `the peer sent an invalid transfer message: ${why}`);
}

const SHA256_RE = /^[0-9a-f]{64}$/;

function int(o, k, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`"${k}" must be an integer in ${min}..${max}`);
  return v;
}
const intOrNull = (o, k) => (o[k] === null ? null : int(o, k));
function str(o, k, maxLen = 1024) {
  const v = o[k];
  if (typeof v !== 'string' || v.length > maxLen) throw bad(`"${k}" must be a string of at most ${maxLen} characters`);
  return v;
}
function sha(o, k) {
  const v = str(o, k, 64);
  if (!SHA256_RE.test(v)) throw bad(`"${k}" must be 64 lowercase hex digits`);
  return v;
}
const shaOrNull = (o, k) => (o[k] === null ? null : sha(o, k));

function work(v) {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('"work" must be an object');
  if (v.phase !== 'hash' && v.phase !== 'prefix') throw bad('"work.phase" must be "hash" or "prefix"');
  const total = int(v, 'total');
  return { index: int(v, 'index'), phase: v.phase, done: int(v, 'done', 0, total), total };
}

/** The fields of each message type, validated; the result is a fresh, canonical object (nothing else is copied). */
const DECODERS = {
  hello: (o) => ({ t: 'hello', v: int(o, 'v', 0, 1000), files: intOrNull(o, 'files') }),
  // The name is judged by checkName, not here: an unusable name is a refusal of that one file, not a protocol error.
  file: (o) => ({ t: 'file', index: int(o, 'index'), name: str(o, 'name', MAX_CONTROL_BYTES), size: intOrNull(o, 'size'), sha256: shaOrNull(o, 'sha256'), chunkSize: int(o, 'chunkSize', 1, CHUNK_SIZE) }),
  accept: (o) => ({ t: 'accept', index: int(o, 'index'), offset: int(o, 'offset'), prefixSha256: shaOrNull(o, 'prefixSha256'), savedAs: str(o, 'savedAs', 4096) }),
  reject: (o) => ({ t: 'reject', index: int(o, 'index'), code: str(o, 'code', 64), message: str(o, 'message') }),
  start: (o) => ({ t: 'start', index: int(o, 'index'), offset: int(o, 'offset') }),
  end: (o) => ({ t: 'end', index: int(o, 'index'), size: int(o, 'size'), sha256: sha(o, 'sha256') }),
  ack: (o) => {
    if (o.ok === true) return { t: 'ack', index: int(o, 'index'), ok: true, sha256: sha(o, 'sha256'), savedAs: str(o, 'savedAs', 4096) };
    if (o.ok === false) return { t: 'ack', index: int(o, 'index'), ok: false, code: str(o, 'code', 64), message: str(o, 'message') };
    throw bad('"ok" must be true or false');
  },
  done: (o) => ({ t: 'done', files: int(o, 'files') }),
  error: (o) => ({ t: 'error', code: str(o, 'code', 64), message: str(o, 'message') }),
  ping: (o) => (o.work === undefined ? { t: 'ping' } : { t: 'ping', work: work(o.work) }),
};

/** Parse one text message. Throws TransferError RTC_ERR_PROTOCOL for anything malformed (never anything else). */
export function decodeControl(text) {
  if (typeof text !== 'string') throw bad('a control message that is not text');
  if (text.length > MAX_CONTROL_BYTES) throw bad(`a control message of ${text.length} characters (max ${MAX_CONTROL_BYTES})`);
  let o;
  try {
    o = JSON.parse(text);
  } catch {
    throw bad('a text message that is not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('a message that is not a JSON object');
  // Object.hasOwn: a "t" of "constructor" or "__proto__" must not reach Object.prototype.
  if (typeof o.t === 'string' && Object.hasOwn(DECODERS, o.t)) return DECODERS[o.t](o);
  throw bad(typeof o.t === 'string' ? `an unknown message type "${printable(o.t.slice(0, 40))}"` : `a "t" that is ${o.t === null ? 'null' : typeof o.t}`);
}

export const encodeControl = (msg) => JSON.stringify(msg);

// ------------------------------------------------------------------------------------------------ names from the network
// The sender chooses the name, so the name is hostile input (docs/file-transfer-protocol.md §Names from the network):
// the page applies recv-file's rules (src/rtc/transfer/names.ts) before it offers a download under that name, and
// shows every name through printable().

const MAX_NAME_BYTES = 255;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// Control, format (bidi overrides, zero-width), separators, surrogates, private use, unassigned, default-ignorable,
// spaces other than U+0020, and look-alikes of "/", "\" and "..".
const DISGUISE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}\p{Default_Ignorable_Code_Point}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2044\u2215\u2216\u29f8\u29f9\ufe68\uff0f\uff3c\u2024\u2025]/u;

const codePoint = (ch) => `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** For the screen: every disguising character shown as <U+XXXX>, and bounded to about 80 characters. */
export function printable(s) {
  let out = '';
  let shown = 0;
  for (const ch of String(s)) {
    if (shown >= 77) return `${out}...`;
    out += DISGUISE.test(ch) ? `<${codePoint(ch)}>` : ch;
    shown++;
  }
  return out;
}

function lastComponent(raw) {
  if (raw.length === 0) return { ok: false, reason: 'the name is empty' };
  if (raw.includes('\0')) return { ok: false, reason: 'the name contains a NUL byte' };
  if (/^[/\\]/.test(raw) || /^[A-Za-z]:/.test(raw)) return { ok: false, reason: `"${printable(raw)}" is an absolute path` };
  const segments = raw.split(/[/\\]+/);
  if (segments.includes('..')) return { ok: false, reason: `"${printable(raw)}" climbs out of the download folder ("..")` };
  const name = segments.filter((s) => s !== '' && s !== '.').pop() ?? '';
  if (/^[A-Za-z]:/.test(name)) return { ok: false, reason: `"${printable(raw)}" ends in a Windows drive path` };
  return { ok: true, name };
}

/**
 * The name to save a received file under, or why not: directories stripped, NFC, trailing dots and spaces removed;
 * absolute paths, "..", disguising characters, reserved device names, dotfiles and names over 255 UTF-8 bytes are
 * refused (the file is rejected, the session goes on).
 */
export function checkName(raw) {
  const last = lastComponent(raw);
  if (!last.ok) return last;
  const m = DISGUISE.exec(last.name);
  if (m) return { ok: false, reason: `"${printable(raw)}" contains ${codePoint(m[0])}, a character that can hide what the name says` };
  const name = last.name.normalize('NFC').replace(/[. ]+$/, '');
  if (name === '' || name === '.' || name === '..') return { ok: false, reason: `"${printable(raw)}" has no file name in it` };
  if (RESERVED.test(name)) return { ok: false, reason: `"${printable(name)}" is a reserved device name` };
  if (name.startsWith('.')) return { ok: false, reason: `"${printable(name)}" is a dotfile (hidden, and read by shells and tools)` };
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > MAX_NAME_BYTES) return { ok: false, reason: `the name is too long (${bytes} bytes of UTF-8; at most ${MAX_NAME_BYTES})` };
  return { ok: true, name };
}
