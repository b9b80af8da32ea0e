/**
 * The send-file/recv-file wire protocol (docs/file-transfer-protocol.md): control messages are JSON text messages on
 * the data channel, file bytes are binary messages (no framing: the channel is reliable and ordered, RFC 8831 §6.6,
 * so the bytes belong to the file opened by the last `start`). This module only encodes, validates and names things;
 * it does no I/O.
 *
 * Everything decoded here comes from the network: validation is strict, never throws anything but RtcError
 * RTC_ERR_PROTOCOL, and bounds every string.
 */
import { RtcError } from '../errors.js';

export const FILE_PROTOCOL_VERSION = 1;
/** The negotiated data channel both sides create (docs/peer-signaling.md §Data channels). */
export const FILE_CHANNEL_ID = 1;
export const FILE_CHANNEL_LABEL = 'rtc-cli-file';
/** werift refuses messages over 64 KiB (and advertises a=max-message-size:65536). */
export const MAX_CHUNK_SIZE = 65_536;
export const DEFAULT_CHUNK_SIZE = 65_536;
/** Control messages are small; anything longer is refused before JSON.parse. */
export const MAX_CONTROL_BYTES = 8_192;
/** Longest name we accept on the wire, in UTF-8 bytes (ext4/APFS/NTFS limit the final component to 255). */
export const MAX_NAME_BYTES = 255;

export type ControlMessage =
  | { t: 'hello'; v: number; files: number | null }
  | { t: 'file'; index: number; name: string; size: number | null; sha256: string | null; chunkSize: number }
  | { t: 'accept'; index: number; offset: number; prefixSha256: string | null; savedAs: string }
  | { t: 'reject'; index: number; code: string; message: string }
  | { t: 'start'; index: number; offset: number }
  | { t: 'end'; index: number; size: number; sha256: string }
  | { t: 'ack'; index: number; ok: true; sha256: string; savedAs: string }
  | { t: 'ack'; index: number; ok: false; code: string; message: string }
  | { t: 'done'; files: number }
  | { t: 'error'; code: string; message: string }
  | { t: 'ping' };

export function encodeControl(msg: ControlMessage): string {
  return JSON.stringify(msg);
}

function bad(why: string): RtcError {
  return new RtcError('RTC_ERR_PROTOCOL', `the peer sent an invalid transfer message: ${why}`, {
    hint: 'both sides must run compatible rtc-cli versions (docs/file-transfer-protocol.md)',
  });
}

const SHA256_RE = /^[0-9a-f]{64}$/;

function int(o: Record<string, unknown>, k: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(`"${k}" must be an integer in ${min}..${max}`);
  return v;
}
function intOrNull(o: Record<string, unknown>, k: string): number | null {
  return o[k] === null ? null : int(o, k);
}
function str(o: Record<string, unknown>, k: string, maxLen = 1024): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > maxLen) throw bad(`"${k}" must be a string of at most ${maxLen} characters`);
  return v;
}
function sha(o: Record<string, unknown>, k: string): string {
  const v = str(o, k, 64);
  if (!SHA256_RE.test(v)) throw bad(`"${k}" must be 64 lowercase hex digits`);
  return v;
}
function shaOrNull(o: Record<string, unknown>, k: string): string | null {
  return o[k] === null ? null : sha(o, k);
}

/** Parse one text message. Throws RTC_ERR_PROTOCOL for anything malformed (never anything else). */
export function decodeControl(text: string): ControlMessage {
  if (text.length > MAX_CONTROL_BYTES) throw bad(`a control message of ${text.length} characters (max ${MAX_CONTROL_BYTES})`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('a text message that is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('a message that is not a JSON object');
  const o = raw as Record<string, unknown>;
  switch (o.t) {
    case 'hello':
      return { t: 'hello', v: int(o, 'v', 0, 1000), files: intOrNull(o, 'files') };
    case 'file':
      return {
        t: 'file',
        index: int(o, 'index'),
        // The name is checked by sanitizeFileName, not here: a hostile name is a refusal, not a protocol error.
        name: str(o, 'name', 4096),
        size: intOrNull(o, 'size'),
        sha256: shaOrNull(o, 'sha256'),
        chunkSize: int(o, 'chunkSize', 1, MAX_CHUNK_SIZE),
      };
    case 'accept':
      return { t: 'accept', index: int(o, 'index'), offset: int(o, 'offset'), prefixSha256: shaOrNull(o, 'prefixSha256'), savedAs: str(o, 'savedAs', 4096) };
    case 'reject':
      return { t: 'reject', index: int(o, 'index'), code: str(o, 'code', 64), message: str(o, 'message') };
    case 'start':
      return { t: 'start', index: int(o, 'index'), offset: int(o, 'offset') };
    case 'end':
      return { t: 'end', index: int(o, 'index'), size: int(o, 'size'), sha256: sha(o, 'sha256') };
    case 'ack':
      if (o.ok === true) return { t: 'ack', index: int(o, 'index'), ok: true, sha256: sha(o, 'sha256'), savedAs: str(o, 'savedAs', 4096) };
      if (o.ok === false) return { t: 'ack', index: int(o, 'index'), ok: false, code: str(o, 'code', 64), message: str(o, 'message') };
      throw bad('"ok" must be true or false');
    case 'done':
      return { t: 'done', files: int(o, 'files') };
    case 'error':
      return { t: 'error', code: str(o, 'code', 64), message: str(o, 'message') };
    case 'ping':
      return { t: 'ping' };
    default:
      throw bad(`an unknown message type ${JSON.stringify(String(o.t)).slice(0, 40)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// File names from the network

/** Windows device names: unsafe on Windows and on SMB shares even with an extension ("CON.txt"). */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

export type NameCheck = { ok: true; name: string; changed: boolean } | { ok: false; reason: string };

/**
 * Turn a name received from the network into one safe to create inside the output directory, or refuse it.
 *
 * - absolute paths (`/etc/passwd`, `C:\x`, `\\server\share`) and any `..` path segment (`../x`, `a/../b`) are refused:
 *   the sender is either broken or hostile, and guessing what it meant is how traversal bugs happen;
 * - other directory parts are stripped (`a/b` → `b`): rtc-cli sends file names, not trees;
 * - control characters (C0, DEL, C1) are replaced by `_` (they garble terminals and logs);
 * - trailing dots and spaces are removed (Windows drops them silently, making two names collide);
 * - empty, `.`, `..`, Windows reserved device names and names longer than 255 UTF-8 bytes are refused.
 */
export function sanitizeFileName(raw: string): NameCheck {
  if (raw.length === 0) return { ok: false, reason: 'the name is empty' };
  if (raw.includes('\0')) return { ok: false, reason: 'the name contains a NUL byte' };
  if (/^[/\\]/.test(raw) || /^[A-Za-z]:/.test(raw)) return { ok: false, reason: `"${printable(raw)}" is an absolute path` };
  const segments = raw.split(/[/\\]+/);
  if (segments.some((s) => s === '..')) return { ok: false, reason: `"${printable(raw)}" climbs out of the output directory ("..")` };
  let name = segments.filter((s) => s !== '' && s !== '.').pop() ?? '';
  // eslint-disable-next-line no-control-regex
  name = name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '_');
  name = name.replace(/[. ]+$/, '');
  if (name === '' || name === '.' || name === '..') return { ok: false, reason: `"${printable(raw)}" has no file name in it` };
  if (RESERVED.test(name)) return { ok: false, reason: `"${printable(name)}" is a reserved device name` };
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return { ok: false, reason: `the name is longer than ${MAX_NAME_BYTES} bytes` };
  return { ok: true, name, changed: name !== raw };
}

/** For messages: control characters shown as `?`, and bounded. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}

/** `x.bin` → `x (1).bin`, `x (2).bin`, ...; `archive.tar.gz` → `archive (1).tar.gz`; `.bashrc` → `.bashrc (1)`. */
export function numberedName(name: string, n: number): string {
  const m = /^(.+?)((?:\.[A-Za-z0-9]{1,8}){0,2})$/.exec(name);
  const stem = m && m[1] && !m[1].startsWith('.') ? m[1] : name;
  const ext = m && m[1] && !m[1].startsWith('.') ? m[2] ?? '' : '';
  return `${stem} (${n})${ext}`;
}
