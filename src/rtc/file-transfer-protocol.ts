/**
 * The send-file/recv-file wire protocol (docs/file-transfer-protocol.md): control messages are JSON text messages on
 * the data channel, file bytes are binary messages (no framing: the channel is reliable and ordered, RFC 8831 §6.6,
 * so the bytes belong to the file opened by the last `start`). This module only encodes, validates and names things;
 * it does no I/O. What a receiver does with a name from the network is in src/rtc/transfer/names.ts.
 *
 * Everything decoded here comes from the network: validation is strict, never throws anything but RtcError
 * RTC_ERR_PROTOCOL, and bounds every string.
 */
import { RtcError } from '../errors.js';
import { printable } from './transfer/names.js';

export const FILE_PROTOCOL_VERSION = 1;
/** The negotiated data channel both sides create (docs/peer-signaling.md §Data channels). */
export const FILE_CHANNEL_ID = 1;
export const FILE_CHANNEL_LABEL = 'rtc-cli-file';
/** werift refuses messages over 64 KiB (and advertises a=max-message-size:65536). */
export const MAX_CHUNK_SIZE = 65_536;
export const DEFAULT_CHUNK_SIZE = 65_536;
/** Control messages are small; anything longer is refused before JSON.parse. */
export const MAX_CONTROL_BYTES = 8_192;

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
  | { t: 'ping'; work?: Work };

/**
 * Optional on `ping`: the sender is still preparing file `index` (hashing it before its header: phase `hash`; hashing
 * the prefix the receiver offered to resume from: phase `prefix`) and has read `done` of `total` bytes. A receiver
 * counts a ping as progress only when `done` grew (docs/file-transfer-protocol.md §Progress deadline); older receivers
 * ignore the field.
 */
export interface Work {
  index: number;
  phase: 'hash' | 'prefix';
  done: number;
  total: number;
}

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

function work(v: unknown): Work {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('"work" must be an object');
  const o = v as Record<string, unknown>;
  if (o.phase !== 'hash' && o.phase !== 'prefix') throw bad('"work.phase" must be "hash" or "prefix"');
  const total = int(o, 'total');
  return { index: int(o, 'index'), phase: o.phase, done: int(o, 'done', 0, total), total };
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
        // The name is judged by sanitizeFileName, not here: a hostile or over-long name is a refusal of that one file,
        // not a protocol error that ends the session. The message size already bounds it.
        name: str(o, 'name', MAX_CONTROL_BYTES),
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
      return o.work === undefined ? { t: 'ping' } : { t: 'ping', work: work(o.work) };
    default:
      // Never String() a value from the network (an object whose "toString" is not a function throws a TypeError), and
      // never echo its characters raw into a terminal.
      throw bad(typeof o.t === 'string' ? `an unknown message type "${printable(o.t.slice(0, 40))}"` : `a "t" that is ${o.t === null ? 'null' : typeof o.t}`);
  }
}
