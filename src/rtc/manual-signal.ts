/**
 * Manual SDP exchange (`--signal manual`): the whole offer or answer, with its candidates, as ONE copy-pasteable line,
 * like the offer/answer textareas of the course's first demo but without the JSON being mangled by terminals.
 *
 * Line format (docs/peer-signaling.md §Manual mode):
 *
 *     rtc1.offer.<base64url(deflate-raw(JSON {"type":"offer","sdp":"v=0..."}))>
 *     rtc1.answer.<...>
 *
 * base64url (RFC 4648 §5) has no dots, no '+', no '/', no '=' padding, so the line survives shells, chat clients and
 * terminal line-wrapping (all whitespace inside a pasted line is ignored). deflate-raw is RFC 1951; browsers have it as
 * `new CompressionStream('deflate-raw')`.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { createInterface } from 'node:readline';
import { RtcError } from '../errors.js';

export const MANUAL_PREFIX = 'rtc1.';
/** Decompressed descriptions larger than this are refused (an SDP is a few KiB; this bounds a hostile paste). */
export const MANUAL_MAX_SDP_BYTES = 256 * 1024;

export type ManualKind = 'offer' | 'answer';

export interface ManualDescription {
  type: ManualKind;
  sdp: string;
}

export function encodeManualLine(desc: ManualDescription): string {
  const json = JSON.stringify({ type: desc.type, sdp: desc.sdp });
  return `${MANUAL_PREFIX}${desc.type}.${deflateRawSync(Buffer.from(json, 'utf8'), { level: 9 }).toString('base64url')}`;
}

function bad(message: string): RtcError {
  return new RtcError('RTC_ERR_BAD_SDP', message, {
    hint: 'paste the whole line the other side printed (it starts with "rtc1.offer." or "rtc1.answer.")',
  });
}

/** Decode a pasted line. Throws RTC_ERR_BAD_SDP (exit 2) for anything that is not a well-formed line of `expect` kind. */
export function decodeManualLine(line: string, expect?: ManualKind): ManualDescription {
  const s = line.replace(/\s+/g, '');
  const m = /^rtc1\.(offer|answer)\.([A-Za-z0-9_-]+)$/.exec(s);
  if (!m) throw bad('the pasted text is not an rtc-cli offer/answer line');
  const kind = m[1] as ManualKind;
  if (expect && kind !== expect) throw bad(`expected an ${expect} line but got an ${kind} line`);
  let json: string;
  try {
    json = inflateRawSync(Buffer.from(m[2]!, 'base64url'), { maxOutputLength: MANUAL_MAX_SDP_BYTES }).toString('utf8');
  } catch (e) {
    throw new RtcError('RTC_ERR_BAD_SDP', 'the pasted line is truncated or corrupted (it does not decompress)', {
      cause: e,
      hint: 'copy the whole line again; it is long, make sure nothing was cut off',
    });
  }
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch (e) {
    throw new RtcError('RTC_ERR_BAD_SDP', 'the pasted line does not hold JSON', { cause: e });
  }
  const o = obj as { type?: unknown; sdp?: unknown };
  if (typeof o !== 'object' || o === null || o.type !== kind || typeof o.sdp !== 'string' || !o.sdp.startsWith('v=0')) {
    throw bad('the pasted line does not hold a session description');
  }
  return { type: kind, sdp: o.sdp };
}

/** Lines from a stream or an async iterable of text chunks (chunks are split on newlines). */
export async function* linesOf(input: AsyncIterable<string> | NodeJS.ReadableStream): AsyncGenerator<string> {
  if (typeof (input as NodeJS.ReadableStream).pipe === 'function') {
    const rl = createInterface({ input: input as NodeJS.ReadableStream, crlfDelay: Infinity, terminal: false });
    try {
      for await (const line of rl) yield line;
    } finally {
      rl.close();
    }
    return;
  }
  let buf = '';
  for await (const chunk of input as AsyncIterable<string>) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}

/**
 * Read the first line that looks like an rtc1 line and decode it. Blank lines and chatter before it are skipped (a
 * terminal paste often brings a stray newline). Ends with RTC_ERR_BAD_SDP if the input ends first.
 */
export async function readManualLine(
  lines: AsyncIterator<string>,
  expect: ManualKind,
): Promise<ManualDescription> {
  for (;;) {
    const next = await lines.next();
    if (next.done) throw bad(`the input ended before an ${expect} line was pasted`);
    const s = next.value.trim();
    if (!s) continue;
    if (!s.replace(/\s+/g, '').startsWith(MANUAL_PREFIX)) {
      throw bad(`expected an ${expect} line starting with "${MANUAL_PREFIX}${expect}." but read "${s.slice(0, 40)}"`);
    }
    return decodeManualLine(s, expect);
  }
}
